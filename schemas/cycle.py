"""The reporting cycle: its input, the state it holds, the calls it accepts and the views it returns.

One `ReportingCycle` runs per office and period. Its input carries everything
it needs — units, policies, holiday data — so that replay never depends on
anything read at run time.
"""

import datetime as dt
from enum import StrEnum

from pydantic import Field, PrivateAttr

from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.calendar import Due, HolidayCalendar
from schemas.notify import DocumentRef, MessageContext, Notification
from schemas.people import Contact, Person
from schemas.plan import Obligation, Office, ReportKind, UpperOffice

# A deadline day's worth of attachments; the console enforces the same limit before upload.
MAX_ATTACHMENTS = 20
MAX_SUBMISSION_BYTES = 50 * 1024 * 1024
# Every report stays in the cycle's state (and in its continue-as-new input) and in the roll-up:
# these caps keep both bounded whatever a unit's portal is made to send.
MAX_REPORTS_PER_KIND = 5  # per unit and kind of report, revisions included
MAX_CYCLE_FILES = 5000  # files (bodies and attachments) across every report of a cycle
MAX_CYCLE_BYTES = 2 * 1024 * 1024 * 1024  # bytes across every report of a cycle (the roll-up holds them all)


def cycle_workflow_id(campaign_id: str, office_id: str, obligation_id: str, period: str) -> str:
    return f"cycle:{campaign_id}:{office_id}:{obligation_id}:{period}"


class CycleUnit(Model):
    id: str
    name: str
    contacts: list[Person] = Field(default_factory=list)
    leader: Person | None = None
    work_areas: list[str] = Field(default_factory=list)


class CycleTemplate(Model):
    """The plan's part for one obligation: what a Schedule hands a cycle it opens."""

    campaign_id: str
    campaign_title: str = ""
    office: Office
    upper_office: UpperOffice | None = None
    obligation: Obligation
    document: DocumentRef = DocumentRef()
    contact: Contact | None = None
    leadership: list[Person] = Field(default_factory=list)
    units: list[CycleUnit] = Field(min_length=1)
    tz: str = "Asia/Shanghai"
    locale: str = "zh-CN"
    # Built on first use, never serialised: a 1,000-unit cycle looks units up by id thousands of
    # times in one workflow activation, and a scan per lookup made that quadratic (issue 17).
    _units_by_id: dict[str, CycleUnit] | None = PrivateAttr(default=None)

    def unit(self, unit_id: str) -> CycleUnit:
        """The plan's unit `unit_id` (KeyError when the cycle has none)."""
        if self._units_by_id is None:
            self._units_by_id = {u.id: u for u in self.units}
        return self._units_by_id[unit_id]

    def replace_units(self, units: list["CycleUnit"]) -> None:
        """A running cycle's units after an amendment (the lookup is rebuilt on next use)."""
        self.units = units
        self._units_by_id = None


class CycleSpec(CycleTemplate):
    """Everything fixed when the cycle opens: the template plus its period and holiday data."""

    cycle_id: str
    period: str
    period_year: int
    opened_at: UtcDateTime
    calendar: HolidayCalendar
    # How long a forwarded cycle stays open for late submissions before it closes by itself.
    keep_open_days: int = 30


class UnitPhase(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    RETURNED = "returned"  # 退回修改: pending again, with a new due date
    WAIVED = "waived"
    WITHDRAWN = "withdrawn"  # 已撤回: taken out of the cycle by an amended plan; no longer owes the report


class Light(StrEnum):
    GREEN = "green"  # submitted
    YELLOW = "yellow"  # due soon
    RED = "red"  # overdue
    GREY = "grey"  # waived
    BLUE = "blue"  # pending, not due soon
    WITHDRAWN = "withdrawn"  # taken out of the cycle (shown grey, worded 已撤回)


class Submission(Model):
    receipt_no: str
    version: int
    kind: ReportKind
    title: str
    body: BlobRef | None = None
    attachments: list[BlobRef] = Field(default_factory=list)
    submitted_at: UtcDateTime
    late: bool = False
    by: str = ""
    replaced: bool = False


class ExtensionRequest(Model):
    reason: str
    wanted: dt.date
    requested_at: UtcDateTime
    by: str = ""


class ExtensionDecision(Model):
    """The office's latest answer to a unit's extension request, shown on the unit's portal page."""

    approved: bool
    due: Due = Field(description="the deadline after the decision: the new one, or the one that stands")
    reason: str = ""
    decided_at: UtcDateTime
    by: str = ""


class TimelineEntry(Model):
    """Something that happened to a unit: for the unit's timeline and the audit trail."""

    at: UtcDateTime
    # notice | reminder:<key> | overdue | escalation:<key> | submitted | extension_* | returned | waived | links_revoked
    what: str
    by: str = ""  # the acting person, "duban" for the engine
    detail: str = ""


class UnitState(Model):
    unit_id: str
    phase: UnitPhase = UnitPhase.PENDING
    due: Due
    base_due: bool = Field(default=True, description="follows the plan's rule (moves when holiday data arrives)")
    due_version: int = 0
    due_set_at: UtcDateTime | None = Field(
        default=None, description="when the current deadline was set (None: at opening)"
    )
    submissions: list[Submission] = Field(default_factory=list)
    extension: ExtensionRequest | None = None
    extension_decision: ExtensionDecision | None = None
    waived_reason: str = ""
    escalation_level: int = 0
    fired: list[str] = Field(default_factory=list, description="agenda steps done, as '<step>@<due_version>'")
    timeline: list[TimelineEntry] = Field(default_factory=list)
    links_valid_from: UtcDateTime | None = Field(
        default=None, description="the unit's portal and feed links made before this moment are refused (revoked)"
    )


class CycleStage(StrEnum):
    OPEN = "open"
    CONSOLIDATING = "consolidating"
    FORWARDED = "forwarded"
    CLOSED = "closed"


class CycleState(Model):
    """What the cycle carries across continue-as-new."""

    stage: CycleStage = CycleStage.OPEN
    units: dict[str, UnitState]
    unit_due: Due
    upward_due: Due | None = None
    fired: list[str] = Field(default_factory=list, description="cycle-level steps done")
    outbox: list[Notification] = Field(default_factory=list)
    shared: dict[str, MessageContext] = Field(default_factory=dict, description="list contexts the outbox names")
    forwarded_at: UtcDateTime | None = None
    forward_tried_at: UtcDateTime | None = None
    rollup: BlobRef | None = None
    forward_requested: bool = False
    close_reason: str = ""
    receipts_issued: int = 0
    audit: list[TimelineEntry] = Field(default_factory=list)
    chased: list[str] = Field(default_factory=list, description="keys of the latest 催办-now calls (remind_now)")
    problems: list[str] = Field(default_factory=list, description="what the office must see: a roll-up that failed")


# A 1,000-unit cycle's history (thousands of Updates between continue-as-news) takes a worker
# several seconds to replay when its cached copy is gone, more on a loaded machine; Temporal's
# default workflow task timeout (10 s) then times the replay out, and the next attempt replays
# again, forever (seen in `python -m bench.worst_path --units 1000`). Cycles are started with this.
CYCLE_TASK_TIMEOUT = dt.timedelta(seconds=60)


class CycleInput(Model):
    """Either a full spec (started directly), or a template (opened by a Schedule, which fixes
    the period from its scheduled time and fetches the holiday data by an activity)."""

    spec: CycleSpec | None = None
    template: CycleTemplate | None = None
    state: CycleState | None = None  # set when continuing as new


class HolidayRequest(Model):
    years: list[int]
    tz: str


# ---- Updates ---------------------------------------------------------------------------------


class SubmitReport(Model):
    unit_id: str
    title: str = Field(min_length=1, max_length=200)
    kind: ReportKind = ReportKind.SUMMARY
    body: BlobRef | None = None
    attachments: list[BlobRef] = Field(default_factory=list)
    by: str = ""


class Receipt(Model):
    """回执: what a unit gets back for an accepted call."""

    cycle_id: str
    unit_id: str
    receipt_no: str = ""
    accepted_at: UtcDateTime
    late: bool = False
    message: str = ""
    due: Due | None = None


class RequestExtension(Model):
    unit_id: str
    reason: str = Field(min_length=1, max_length=1000)
    wanted: dt.date
    by: str = ""


class DecideExtension(Model):
    """The office approves (with the new due date; default: the date asked for) or refuses."""

    unit_id: str
    approve: bool
    new_due: dt.date | None = None
    reason: str = ""
    by: str = Field(min_length=1)


class ReturnForRevision(Model):
    unit_id: str
    reason: str = Field(min_length=1, max_length=1000)
    new_due: dt.date
    by: str = Field(min_length=1)


class Waive(Model):
    unit_id: str
    reason: str = Field(min_length=1, max_length=1000)
    by: str = Field(min_length=1)


class RevokeLinks(Model):
    """The office cuts off the unit's links made so far (a notice forwarded too widely, a liaison who left).

    Refused from then on: the unit's portal links to this cycle, and its feed links while the feed shows this cycle.
    """

    unit_id: str
    reason: str = Field(default="", max_length=1000)
    by: str = Field(min_length=1)


class RemindNow(Model):
    """催办 now: the office chases chosen units (none named: every unit still owing) today, with a note.

    `key` names the click: the console's form and a CLI call carry one, and the cycle sends nothing twice
    for the same key (a double click, a retried request)."""

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    unit_ids: list[str] = Field(default_factory=list, max_length=1000)
    note: str = Field(default="", max_length=500)
    urgent: bool = Field(default=False, description="send even outside the send window (at night, on a rest day)")
    by: str = Field(min_length=1, max_length=100)


class Reminded(Model):
    """What `remind_now` answers: the units chased, or that this key was applied before (nothing sent again)."""

    cycle_id: str
    message: str
    units: list[str] = Field(default_factory=list)
    repeated: bool = False


class OfficeAction(Model):
    """Forward upward now, or close the cycle."""

    reason: str = ""
    by: str = Field(min_length=1)


class NewCalendar(Model):
    calendar: HolidayCalendar
    by: str = "duban"


class ActionResult(Model):
    cycle_id: str
    message: str
    moved: list[str] = Field(default_factory=list)


class LinksRevoked(ActionResult):
    """What `revoke_links` answers: from when the unit's links open again (new links are made from then on)."""

    unit_id: str
    links_valid_from: UtcDateTime


# ---- Views -----------------------------------------------------------------------------------


class UnitRow(Model):
    unit_id: str
    unit_name: str
    phase: UnitPhase
    light: Light
    due: Due
    overdue: bool
    submitted_at: UtcDateTime | None = None
    days_late: int = 0
    reports: int = 0
    reminders_sent: int = 0
    escalation_level: int = 0
    extension_requested: bool = False
    returns: int = Field(default=0, description="times the unit's report was returned for revision (退回)")
    submissions: int = Field(default=0, description="reports received, every version (`reports`: the current ones)")


class CycleStatus(Model):
    cycle_id: str
    campaign_id: str
    office_id: str
    period: str
    obligation: str
    stage: CycleStage
    now: UtcDateTime
    unit_due: Due
    upward_due: Due | None = None
    forwarded_at: UtcDateTime | None = None
    counts: dict[str, int]
    units: list[UnitRow]
    next_event_at: UtcDateTime | None = None
    next_event: str = ""
    problems: list[str] = Field(default_factory=list, description="roll-up failures, files missing from the store")


class UnitQuery(Model):
    unit_id: str


class UnitView(Model):
    cycle_id: str
    period: str
    obligation_title: str
    unit: CycleUnit
    row: UnitRow
    state: UnitState
    upcoming: list[tuple[UtcDateTime, str]] = Field(default_factory=list)
