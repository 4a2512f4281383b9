"""The campaign plan: what an office loads with `duban campaign start FILE`.

One YAML file holds the document (文号, title, upstream document), the office
and its upper office, the units with their contacts and leaders, the work
areas and who is responsible, and the reporting obligations with their due
rules and reminder/escalation policies. `check_plan` reports every problem
with its field path, so an operator fixes a plan in one pass.
"""

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from schemas.base import Model
from schemas.calendar import DEFAULT_TZ, DueRule, LadderStep, SendWindow
from schemas.info_plan import InfoPlan
from schemas.lead import ReferralPolicy
from schemas.people import ID_PATTERN, Contact, Person


class DocumentInfo(Model):
    number: str = Field(min_length=1, description="文号, e.g. 雅打假办发〔2017〕2号")
    title: str = Field(min_length=1)
    date: dt.date | None = None
    upstream_number: str = ""
    upstream_title: str = ""
    upstream_office: str = ""


class Office(Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    email: str | None = None
    staff: list[Person] = Field(default_factory=list, description="who receives the office's own reminders")


class UpperOffice(Model):
    """Where the consolidated package goes: the parent's cycle when it runs here, else its mailbox."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    email: str | None = None
    # When the upper office runs its campaign on this deployment: its campaign id and our unit id there.
    campaign: str | None = None
    as_unit: str | None = None


class UnitKind(StrEnum):
    MEMBER = "member"  # 领导小组成员单位
    COUNTY = "county"  # 县（区）打假办 — an office of its own, reporting as a unit here


class Unit(Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    kind: UnitKind = UnitKind.MEMBER
    contacts: list[Person] = Field(default_factory=list)
    leader: Person | None = None


class WorkArea(Model):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    responsible: list[str] = Field(default_factory=list, description="unit ids 按职责分工分别负责")


class Period(StrEnum):
    HALF_YEAR = "half_year"  # two cycles a year, labels 2026-H1 / 2026-H2
    ANNUAL = "annual"  # label 2026-Y
    MONTHLY = "monthly"  # label 2026-M03
    ONCE = "once"  # one cycle from the moment the campaign starts (demo, ad-hoc requests)


class ReportKind(StrEnum):
    SUMMARY = "summary"  # 工作总结
    WORK_UPDATE = "work_update"  # 工作动态
    TYPICAL_CASE = "typical_case"  # 典型案例
    PRACTICE = "practice"  # 经验做法


class Recipient(StrEnum):
    UNIT_CONTACT = "unit_contact"
    UNIT_LEADER = "unit_leader"
    OFFICE = "office"
    LEADERSHIP = "leadership"
    ALL_UNITS = "all_units"


class DueSpec(Model):
    """When something is due: a fixed day of the period's year, or a rule counted from an anchor.

    Exactly one of `day` (MM-DD, with `roll`/`close`) or `after` (a period rule). (Not `on`:
    YAML 1.1 reads a bare `on` key as the boolean true.)
    For a unit deadline `after` counts from the cycle's opening; for the upward
    deadline it counts from the unit deadline ("unit due + 2 days").
    """

    day: str | None = Field(default=None, pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    roll: str = "next"
    close: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    after: DueRule | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.day is None) == (self.after is None):
            raise ValueError("give exactly one of 'day' (MM-DD) or 'after' (a rule)")
        if self.roll not in ("next", "previous", "none"):
            raise ValueError("roll must be next, previous or none")
        return self


class EscalationStep(Model):
    step: LadderStep
    recipients: list[Recipient] = Field(min_length=1)
    bulletin: bool = Field(default=False, description="a 通报 listing every late unit, one message per recipient")
    # Group robots (WeCom / DingTalk) that also hear this rung: names of webhooks in the settings.
    webhooks: list[str] = Field(default_factory=list)


class Obligation(Model):
    """One reporting obligation of the notice, e.g. the annual summary due Dec 13."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    kind: ReportKind = ReportKind.SUMMARY
    period: Period
    # When a cycle opens: MM-DD of the period's year (half-year: the first half's date; the
    # second half opens six months later), the day of month for monthly, ignored for once.
    opens: str = Field(default="01-01", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    unit_due: DueSpec
    # For the half-year period: the second half's unit due date (the first is `unit_due`).
    unit_due_h2: DueSpec | None = None
    upward_due: DueSpec | None = None
    upward_due_h2: DueSpec | None = None
    reminders: list[LadderStep] = Field(default_factory=list)
    escalations: list[EscalationStep] = Field(default_factory=list)
    office_reminders: list[LadderStep] = Field(default_factory=list, description="before the upward deadline")
    units: list[str] | None = Field(default=None, description="unit ids; None = every unit of the plan")
    min_reports: int = Field(default=1, ge=1, description="reports per unit per cycle (cadence of 及时报送)")
    # Which halves a half-year obligation runs: [1] for a half-year summary whose second half is the
    # annual summary (a separate obligation), [1, 2] for two like cycles a year.
    halves: list[int] = Field(default_factory=lambda: [1, 2])
    send_window: SendWindow = SendWindow()


class CampaignPlan(Model):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    document: DocumentInfo
    office: Office
    upper_office: UpperOffice | None = None
    timezone: str = DEFAULT_TZ
    contact: Contact
    leadership: list[Person] = Field(default_factory=list)
    units: list[Unit] = Field(min_length=1)
    work_areas: list[WorkArea] = Field(default_factory=list)
    commodities: list[str] = Field(default_factory=list)
    focus_regions: list[str] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    referral_policies: list[ReferralPolicy] = Field(default_factory=list)
    # 及时报送: a standing information channel for the whole campaign (None: the office runs none).
    info: InfoPlan | None = None
    locale: str = "zh-CN"

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def work_areas_of(self, unit_id: str) -> list[str]:
        return [f"{a.id} {a.title}" for a in self.work_areas if unit_id in a.responsible]
