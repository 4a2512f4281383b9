"""Case-lead referrals (线索通报 / 案件移送): policies, the workflow's input, calls and views."""

from pydantic import Field

from schemas.base import Model
from schemas.calendar import DueRule, LadderStep
from schemas.people import ID_PATTERN


class LeadEscalation(Model):
    """Who hears when a stage's limit is missed: roles of the lead (referrer, receiver) or plan leadership."""

    step: LadderStep
    recipients: list[str] = Field(min_length=1, description="referrer | receiver | receiver_leader | leadership | office")


class ReferralStageSpec(Model):
    """One stage of a lead referral policy (see domain.md, Decree 310)."""

    name: str = Field(pattern=ID_PATTERN)
    title: str = ""
    actor: str = Field(description="referrer | receiver | police | agency_head")
    limit: DueRule
    reminders: list[LadderStep] = Field(default_factory=list)
    escalations: list[LeadEscalation] = Field(default_factory=list)
    repeat: bool = Field(default=False, description="a cadence (progress feedback every N) rather than once")


class ReferralPolicy(Model):
    name: str = Field(pattern=ID_PATTERN)
    title: str = ""
    stages: list[ReferralStageSpec] = Field(min_length=1)


