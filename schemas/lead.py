"""Case-lead referrals (线索通报 / 案件移送): policies, the workflow's input, calls and views.

A lead moves from a referring unit to one or several receiving units (协办: each
receiver has its own track and its own clocks). A track runs through stages
named by `StageName`; the policy says which stages exist, who acts in each, the
time limit of each as a calendar rule, and the reminders and escalations. The
stage *order* is fixed by the workflow (see domain/lead_stages.py), so an
office can edit limits and ladders freely but cannot write a policy the engine
does not understand.
"""

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.calendar import DEFAULT_TZ, DueRule, HolidayCalendar, LadderStep, RuleKind, SendWindow
from schemas.people import ID_PATTERN, Person


def lead_workflow_id(campaign_id: str, short_id: str) -> str:
    """`lead:<campaign>:<short id>` — also the lead's id in every command."""
    return f"lead:{campaign_id}:{short_id}"


def campaign_of(lead_id: str) -> str:
    """The campaign part of a lead id, or ValueError for something that is not a lead id."""
    parts = lead_id.split(":")
    if len(parts) != 3 or parts[0] != "lead" or not parts[1] or not parts[2]:
        raise ValueError(f"{lead_id!r} is not a lead id (expected lead:<campaign>:<id>)")
    return parts[1]


class StageName(StrEnum):
    """The stages a track can be in; each waits for one unit's action."""

    SIGN = "sign"  # 签收: the receiver signs for the lead
    DECIDE = "decide"  # the receiver opens a case, declines, transfers, or hands to the police
    FEEDBACK = "feedback"  # 反馈: progress feedback on a cadence while the case is open
    CLOSE = "close"  # 办结 with a result
    APPROVE = "approve"  # Decree 310 Art. 5: the agency head approves or refuses the transfer
    TRANSFER = "transfer"  # Art. 5: the approved case goes to the police
    FILE = "file"  # Art. 8: the police decide whether to file (立案)
    RECONSIDER_REQUEST = "reconsider_request"  # Art. 9: the refused party asks for 复议
    RECONSIDER = "reconsider"  # Art. 9: the decider decides the 复议
    HANDOVER = "handover"  # hand-over of seized goods and materials after filing


class Actor(StrEnum):
    """Who acts in a stage, as a role of the track (resolved to a unit when the stage opens)."""

    REFERRER = "referrer"
    RECEIVER = "receiver"
    AGENCY = "agency"  # the administrative agency transferring a suspected crime
    POLICE = "police"  # the police unit the case goes to


class LeadRecipient(StrEnum):
    ACTOR = "actor"  # the acting unit's contacts
    ACTOR_LEADER = "actor_leader"
    REFERRER = "referrer"
    REFERRER_LEADER = "referrer_leader"
    AGENCY = "agency"  # Decree 310: the transferring agency's contacts (the police's counterpart)
    LEADERSHIP = "leadership"  # 领导小组 leadership of the plan
    OFFICE = "office"  # the office's staff


class LeadEscalation(Model):
    """One rung of a stage's 督办 ladder and who hears about it."""

    step: LadderStep
    recipients: list[LeadRecipient] = Field(min_length=1)


class ReferralStageSpec(Model):
    """One stage of a referral policy: who acts, the time limit, reminders and escalations."""

    name: StageName
    title: str = ""
    actor: Actor
    limit: DueRule
    reminders: list[LadderStep] = Field(default_factory=list)
    escalations: list[LeadEscalation] = Field(default_factory=list)
    # An optional stage (asking for reconsideration) lapses at its limit instead of escalating.
    optional: bool = False
    max_extension: int | None = Field(
        default=None,
        ge=0,
        le=366,
        description="延期: how much longer (in the limit's own unit) the office may grant in all; None: up to the"
        " limit itself once more; 0: never. A Decree 310 limit is statutory and cannot be extended.",
    )

    def extension_allowed(self, statutory: bool) -> int:
        """How much the office may add to this stage's limit in all (0 when it may not)."""
        if statutory or self.limit.kind is RuleKind.FIXED:
            return 0
        return self.limit.n if self.max_extension is None else self.max_extension


class ReferralPolicy(Model):
    name: str = Field(pattern=ID_PATTERN)
    title: str = ""
    stages: list[ReferralStageSpec] = Field(min_length=1)
    # The policy that runs when a receiver hands the lead to the police (e.g. decree-310).
    police_policy: str | None = None
    send_window: SendWindow = SendWindow()

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        names = [s.name for s in self.stages]
        dupes = sorted({n.value for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stage(s) {', '.join(dupes)} defined more than once")
        if StageName.SIGN not in names and StageName.APPROVE not in names:
            raise ValueError(
                "a policy starts with a 'sign' stage (between agencies) or an 'approve' stage (Decree 310)"
            )
        if StageName.SIGN in names and StageName.DECIDE not in names:
            raise ValueError("a policy with a 'sign' stage needs a 'decide' stage")
        if StageName.APPROVE in names:
            missing = [n.value for n in (StageName.TRANSFER, StageName.FILE) if n not in names]
            if missing:
                raise ValueError(f"a Decree 310 policy with 'approve' also needs {', '.join(missing)}")
        if StageName.FEEDBACK in names and StageName.CLOSE not in names:
            raise ValueError("a 'feedback' cadence needs a 'close' stage to end it")
        if (StageName.RECONSIDER_REQUEST in names) != (StageName.RECONSIDER in names):
            raise ValueError("'reconsider_request' and 'reconsider' go together")
        if self.statutory:
            extendable = sorted(s.name.value for s in self.stages if s.max_extension)
            if extendable:
                raise ValueError(
                    f"Decree 310 time limits are statutory and cannot be extended: max_extension of "
                    f"{', '.join(extendable)} must be 0 or left out"
                )
        return self

    @property
    def statutory(self) -> bool:
        """A Decree 310 policy (it has the agency head's approval): its limits are the decree's, not the office's."""
        return self.stage(StageName.APPROVE) is not None

    def stage(self, name: StageName) -> ReferralStageSpec | None:
        return next((s for s in self.stages if s.name is name), None)


# ---- The workflow's input -------------------------------------------------------------------


class LeadUnit(Model):
    """A unit as the lead needs it: who to tell. Ids go into search attributes, names never."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    contacts: list[Person] = Field(default_factory=list)
    leader: Person | None = None


class LeadInput(Model):
    lead_id: str
    campaign_id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    content: BlobRef | None = None
    referrer: LeadUnit
    receivers: list[LeadUnit] = Field(min_length=1)
    policy: ReferralPolicy
    police_policy: ReferralPolicy | None = None
    leadership: list[Person] = Field(default_factory=list)
    office_name: str = ""
    office_staff: list[Person] = Field(default_factory=list)
    calendar: HolidayCalendar
    referred_at: UtcDateTime
    by: str = ""

    @model_validator(mode="after")
    def _distinct_units(self) -> Self:
        ids = [r.id for r in self.receivers]
        if len(set(ids)) != len(ids):
            raise ValueError("a receiving unit is listed twice")
        if self.referrer.id in ids:
            raise ValueError(f"{self.referrer.id} cannot refer a lead to itself")
        return self


# ---- Calls (Updates) ------------------------------------------------------------------------


class LeadCall(Model):
    """What every action carries: the acting unit, the person, and the track when ambiguous."""

    unit_id: str = Field(pattern=ID_PATTERN)
    by: str = ""
    # The receiving unit whose track this concerns; needed only when the unit acts in several.
    track: str | None = None


class SignFor(LeadCall):
    """签收."""


class Decision(StrEnum):
    OPEN = "open"  # open a case (police: 立案)
    DECLINE = "decline"  # with a reason (police: 不予立案)
    TRANSFER = "transfer"  # to another agency
    POLICE = "police"  # hand a suspected crime to the police (Decree 310)


class Decide(LeadCall):
    decision: Decision
    reason: str = Field(default="", max_length=2000)
    to: LeadUnit | None = Field(default=None, description="the agency or police unit for transfer/police")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.decision is Decision.DECLINE and not self.reason.strip():
            raise ValueError("不予立案须说明理由 (a decline needs a reason)")
        if self.decision in (Decision.TRANSFER, Decision.POLICE) and self.to is None:
            raise ValueError(f"转交或移送须指明接收单位 (a {self.decision.value} decision needs the unit it goes to)")
        return self


class GiveFeedback(LeadCall):
    text: str = Field(min_length=1, max_length=4000)


class CloseLead(LeadCall):
    result: str = Field(min_length=1, max_length=4000)


class Approve(LeadCall):
    """The agency head's decision on transferring a suspected crime (Decree 310 Art. 5)."""

    approve: bool = True
    reason: str = Field(default="", max_length=2000)


class Transfer(LeadCall):
    """移送: the approved case and its materials go to the police."""

    note: str = Field(default="", max_length=2000)
    materials: list[BlobRef] = Field(default_factory=list, max_length=50, description="移送材料 in the blob store")


class RequestReconsideration(LeadCall):
    reason: str = Field(min_length=1, max_length=2000)


class HandOver(LeadCall):
    """Seized goods and materials handed to the police after filing."""

    note: str = Field(default="", max_length=2000)
    materials: list[BlobRef] = Field(default_factory=list, max_length=50, description="移交材料 in the blob store")


class RequestLeadExtension(LeadCall):
    """延期申请: the acting unit asks the office for more time on one of its open stages."""

    stage: StageName | None = Field(default=None, description="the open stage; needed only when several are open")
    days: int = Field(ge=1, le=366, description="how much longer, in the stage limit's own unit (working days…)")
    reason: str = Field(min_length=1, max_length=2000)


class DecideLeadExtension(LeadCall):
    """The office grants (as asked, or for fewer days) or refuses (with a reason) a unit's extension request."""

    stage: StageName | None = None
    approve: bool
    days: int | None = Field(default=None, ge=1, le=366, description="granted; None: as asked")
    reason: str = Field(default="", max_length=2000)


class Involve(Model):
    """提前介入: police or procuratorate get involved early; a recorded step, no deadline."""

    unit: LeadUnit
    note: str = Field(default="", max_length=2000)
    by: str = ""


class LeadReceipt(Model):
    lead_id: str
    action: str
    unit_id: str
    track: str
    accepted_at: UtcDateTime
    stage: str = Field(description="the track's stage after the action")
    message: str = ""
    next_due: UtcDateTime | None = None


class LeadDeadlinesMoved(Model):
    """What recomputing a lead on new holiday data answers: the stages whose deadline moved."""

    lead_id: str
    message: str
    moved: list[str] = Field(default_factory=list, description="`<track>:<stage>#<seq>` of each moved stage")


# ---- State and views ------------------------------------------------------------------------


class TrackState(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # 办结
    DECLINED = "declined"
    TRANSFERRED = "transferred"  # passed on to another agency
    NOT_APPROVED = "not_approved"  # the agency head refused the transfer
    NOT_FILED = "not_filed"  # the police refused to file, no (successful) reconsideration
    HANDED_OVER = "handed_over"  # filed by the police, materials handed over


class ExtensionState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


class LeadExtension(Model):
    """A stage's latest extension request and, once made, the office's decision on it."""

    days: int
    reason: str
    requested_at: UtcDateTime
    by: str = ""
    state: ExtensionState = ExtensionState.PENDING
    granted_days: int = 0
    decided_at: UtcDateTime | None = None
    decided_by: str = ""
    answer: str = ""


class StageRecord(Model):
    """One occurrence of a stage on a track (feedback occurs many times)."""

    track: str
    name: StageName
    policy: str = Field(description="the policy whose stage this is")
    seq: int = Field(description="occurrence of this stage on this track, from 0")
    unit: str
    started_at: UtcDateTime
    due: UtcDateTime
    due_rule: str = ""
    due_rule_zh: str = Field(default="", description="`due_rule` in Chinese; empty in histories from before it")
    provisional: bool = False
    optional: bool = False
    done_at: UtcDateTime | None = None
    met: bool | None = None
    outcome: str = ""
    escalation_level: int = 0
    fired: list[str] = Field(default_factory=list)
    extension: LeadExtension | None = None
    extended: int = Field(default=0, description="granted extensions in all, in the limit's own unit")
    # Filled in views only (`get_status`), so the pages can offer the request form.
    extension_left: int = Field(default=0, description="how much more the office may still grant")
    extension_unit: str = Field(default="", description="the limit's unit in Chinese: 工作日, 日, 小时…")

    @property
    def open(self) -> bool:
        return self.done_at is None


class Track(Model):
    unit: str  # the receiving unit
    state: TrackState = TrackState.ACTIVE
    # Decree 310 phase: set when the lead is (or was from the start) a transfer to the police.
    police_phase: bool = False
    agency: str | None = None
    police: str | None = None
    result: str = ""


class LeadEvent(Model):
    """Who did what when: the lead's timeline."""

    at: UtcDateTime
    what: str
    unit: str = ""
    by: str = ""
    track: str = ""
    detail: str = ""


class LeadStatus(Model):
    lead_id: str
    campaign_id: str
    title: str
    policy: str
    referrer: str
    referred_at: UtcDateTime
    now: UtcDateTime
    stage: str
    closed: bool
    escalation_level: int
    due_at: UtcDateTime | None = None
    units: list[str]
    tracks: list[Track]
    stages: list[StageRecord]
    timeline: list[LeadEvent]
    content: BlobRef | None = None
    tz: str = Field(default=DEFAULT_TZ, description="the zone the lead's limits are counted in")
    links_valid_from: dict[str, UtcDateTime] = Field(
        default_factory=dict, description="per unit: its lead links made before this moment are refused"
    )


class LeadStatusQuery(Model):
    """Empty: `get_status` takes one model like every other call."""
