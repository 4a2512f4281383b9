"""The information channel (`InfoChannel`): its input, the items it holds, its calls and its views.

One channel runs per office and campaign (`info:<campaign>:<office>`) for the
whole campaign. It carries references and small metadata only: an item's text
and files live in the blob store, and items that are settled (decided and, when
adopted, gone up) move in pages to the blob store too, leaving per-month tallies
behind for the statistics. So the state carried across continue-as-new stays
small however many items a year brings.
"""

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field

from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.calendar import Due, HolidayCalendar
from schemas.cycle import MAX_ATTACHMENTS, CycleUnit
from schemas.info_plan import InfoKind, InfoPlan
from schemas.notify import DocumentRef, Notification
from schemas.people import Contact
from schemas.plan import Office, UpperOffice

__all__ = ["MAX_ATTACHMENTS", "InfoKind", "InfoPlan"]

# An item is a short piece of news with a few files, not a year's report.
MAX_ITEM_BYTES = 20 * 1024 * 1024
# Open items (to review, returned, waiting to go up) are carried in the channel's state: past these
# the office must review before more are sent, so the state stays far under Temporal's 2 MB payload
# limit even if nobody reviews, and one unit (or a leaked link) cannot take the whole channel.
MAX_OPEN_ITEMS = 1000
MAX_OPEN_ITEMS_PER_UNIT = 100
# Versions of one item (returned and sent again), like a cycle's reports per kind: bounds its events.
MAX_ITEM_VERSIONS = 5
# What the items held in the state may weigh (JSON, before compression): counts alone do not bound
# it (a title, 21 file names of 255 characters, 1,000-character notes). New items are refused past
# MAX_HELD_BYTES; a decision with a note past the headroom above it (a bare adopt or file always
# goes through: it settles the item, which then leaves the state). Continue-as-new carries all of
# it, and Temporal refuses payloads over 2 MB.
MAX_HELD_BYTES = 1024 * 1024
DECISION_HEADROOM = 256 * 1024
TITLE_MAX = 200
BY_MAX = 200  # who acted: an operator's name or a unit's id, kept in every event of the item
NOTE_MAX = 1000


def channel_workflow_id(campaign_id: str, office_id: str) -> str:
    return f"info:{campaign_id}:{office_id}"


def item_id(channel_id: str, no: int) -> str:
    """What units and operators quote: `<campaign>:<office>:<no>` (the channel id without `info:`)."""
    return f"{channel_id.removeprefix('info:')}:{no}"


def split_item_id(text: str) -> tuple[str, int]:
    """(channel id, item number) of an item id; ValueError when it is not one."""
    head, _, number = text.strip().rpartition(":")
    campaign, _, office = head.partition(":")
    if not (campaign and office and number.isdigit()) or ":" in office:
        raise ValueError(f"{text!r} is not an item id (expected CAMPAIGN:OFFICE:NUMBER, e.g. yaan-qingfeng:yaan:12)")
    return channel_workflow_id(campaign, office), int(number)


class InfoState(StrEnum):
    PENDING = "pending"  # 待审核
    ADOPTED = "adopted"  # 已采用
    RETURNED = "returned"  # 退回修改 (the unit may resubmit)
    FILED = "filed"  # 存档


class Decision(StrEnum):
    ADOPT = "adopt"
    RETURN = "return"
    FILE = "file"


DECISION_STATE = {
    Decision.ADOPT: InfoState.ADOPTED,
    Decision.RETURN: InfoState.RETURNED,
    Decision.FILE: InfoState.FILED,
}


class InfoSpec(Model):
    """Everything fixed when the channel opens (carried unchanged across continue-as-new)."""

    channel_id: str
    campaign_id: str
    campaign_title: str = ""
    title: str = "专项行动信息报送"
    office: Office
    upper_office: UpperOffice | None = None
    document: DocumentRef = DocumentRef()
    contact: Contact | None = None
    units: list[CycleUnit] = Field(min_length=1)
    work_areas: list[str] = Field(default_factory=list, description="the plan's work areas, e.g. '(一) 进一步…'")
    rules: InfoPlan = InfoPlan()
    calendar: HolidayCalendar
    tz: str = "Asia/Shanghai"
    locale: str = "zh-CN"
    opened_at: UtcDateTime
    # Settled items leave the state this many at a time (fixed in the input, so replay pages the same).
    archive_batch: int = Field(default=100, ge=1, le=500)
    # A run continues as new past this many history events (Temporal warns at 10,240, stops at 51,200).
    max_run_events: int = Field(default=4000, ge=50, le=10000)


class ItemEvent(Model):
    """One step in an item's life, for the audit trail: who did what, when."""

    at: UtcDateTime
    what: str  # submitted | resubmitted | adopted | returned | filed | forward_reminder:<key> | forwarded | expired
    by: str = ""
    note: str = ""


class InfoItem(Model):
    no: int
    unit_id: str
    kind: InfoKind
    title: str
    body: BlobRef | None = None
    attachments: list[BlobRef] = Field(default_factory=list)
    work_area: str = ""
    submitted_at: UtcDateTime
    month: str = Field(description="YYYY-MM of the first submission in the office's zone: the tally it counts in")
    version: int = 1
    state: InfoState = InfoState.PENDING
    decided_at: UtcDateTime | None = None
    decided_by: str = ""
    note: str = ""
    forward_due: Due | None = None
    forward_asked: bool = False
    forwarded_at: UtcDateTime | None = None
    settled_at: UtcDateTime | None = Field(default=None, description="nothing more will happen to it: may be paged out")
    forwarded_how: str = ""  # channel | mail | none
    forward_detail: str = ""
    origin: str = Field(default="", description="the lower office's item id, for items that came up from there")
    events: list[ItemEvent] = Field(default_factory=list)


class ArchivePage(Model):
    """Settled items moved out of the workflow's state into the blob store (a JSON list of InfoItem)."""

    ref: BlobRef
    first_no: int
    last_no: int
    count: int


class Tally(Model):
    """One unit's items of one kind first submitted in one month."""

    sent: int = 0
    adopted: int = 0
    returned: int = 0
    filed: int = 0


class UnitActivity(Model):
    last_item_at: UtcDateTime | None = None
    quiet_reminded_at: UtcDateTime | None = None
    links_valid_from: UtcDateTime | None = Field(
        default=None, description="the unit's links to this channel made before this moment are refused (revoked)"
    )


class InfoCarried(Model):
    """What the channel carries across continue-as-new: open items, page references, tallies."""

    next_no: int = 1
    items: list[InfoItem] = Field(default_factory=list, description="open items and settled ones not yet paged out")
    archive: list[ArchivePage] = Field(default_factory=list)
    tallies: dict[str, Tally] = Field(default_factory=dict, description="'<unit>|<YYYY-MM>|<kind>' → counts")
    activity: dict[str, UnitActivity] = Field(default_factory=dict)
    outbox: list[Notification] = Field(default_factory=list)
    closed_at: UtcDateTime | None = None
    closed_by: str = ""
    runs: int = 1


class InfoInput(Model):
    spec: InfoSpec
    state: InfoCarried | None = None  # set when continuing as new


# ---- Updates ---------------------------------------------------------------------------------


class SubmitItem(Model):
    """A unit sends an item (or resubmits a returned one, naming its number)."""

    unit_id: str
    kind: InfoKind
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: BlobRef | None = None
    attachments: list[BlobRef] = Field(default_factory=list)
    work_area: str = ""
    resubmit_of: int | None = None
    by: str = Field(default="", max_length=BY_MAX)
    origin: str = Field(default="", max_length=300)


class InfoReceipt(Model):
    """回执 for an item."""

    channel_id: str
    item_id: str
    no: int
    unit_id: str
    version: int = 1
    accepted_at: UtcDateTime
    message: str = ""


class DecideItem(Model):
    """The office adopts (采用), returns with a note (退回), or files (存档) a pending item."""

    no: int
    decision: Decision
    note: str = Field(default="", max_length=NOTE_MAX)
    by: str = Field(min_length=1, max_length=BY_MAX)


class ForwardItem(Model):
    """Send an adopted item up now, before its limit."""

    no: int
    by: str = Field(min_length=1, max_length=BY_MAX)


class CloseChannel(Model):
    reason: str = Field(default="", max_length=NOTE_MAX)
    by: str = Field(min_length=1, max_length=BY_MAX)


class ItemResult(Model):
    channel_id: str
    item_id: str
    state: InfoState
    message: str
    forward_due: Due | None = None


# ---- Forwarding (activity) -------------------------------------------------------------------


class InfoForwardRequest(Model):
    channel_id: str
    item_id: str
    upper: UpperOffice
    kind: InfoKind
    title: str
    body: BlobRef | None = None
    attachments: list[BlobRef] = Field(default_factory=list)


class InfoForwardResult(Model):
    delivered: bool
    how: str  # channel | none
    detail: str = ""
    upper_item_id: str = ""


class ArchiveRequest(Model):
    channel_id: str
    items: list[InfoItem]


# ---- Views -----------------------------------------------------------------------------------


class ItemsQuery(Model):
    unit_id: str | None = None


class ItemsView(Model):
    """The items the channel holds (filtered by unit if asked) and the pages of the rest."""

    channel_id: str
    campaign_id: str
    office_id: str
    title: str
    now: UtcDateTime
    closed: bool = False
    units: dict[str, str] = Field(default_factory=dict, description="unit id → name, in the plan's order")
    work_areas: list[str] = Field(default_factory=list)
    kinds: list[InfoKind] = Field(default_factory=list)
    has_upper: bool = False
    upper_name: str = ""
    items: list[InfoItem]
    archive: list[ArchivePage] = Field(default_factory=list)
    next_no: int = 1
    activity: dict[str, UnitActivity] = Field(default_factory=dict, description="per unit: last item, last reminder")


class BoardQuery(Model):
    """`get_board` takes no options yet; a model keeps the one-model-in rule and room for some."""


class StatsQuery(Model):
    period: str = Field(description="2026-M03, 2026-Q4, 2026-H1 or 2026-Y")


class KindCounts(Model):
    sent: int = 0
    adopted: int = 0


class StatsRow(Model):
    unit_id: str
    unit_name: str
    sent: int = 0
    adopted: int = 0
    returned: int = 0
    filed: int = 0
    rate: float | None = Field(default=None, description="adopted / sent; None when nothing was sent")
    by_kind: dict[InfoKind, KindCounts] = Field(default_factory=dict)
    last_item_at: UtcDateTime | None = None


class InfoStats(Model):
    """采用情况: per unit, items first sent in the period and how many were adopted."""

    channel_id: str
    campaign_id: str
    office_name: str
    title: str
    period: str
    period_zh: str
    months: list[str]
    rows: list[StatsRow]
    total: StatsRow
    document: DocumentRef = DocumentRef()
    contact: Contact | None = None
    tz: str = "Asia/Shanghai"
    computed_at: UtcDateTime


class WaitingItem(Model):
    item_id: str
    no: int
    unit_id: str
    unit_name: str
    kind: InfoKind
    title: str
    adopted_at: UtcDateTime | None
    forward_due: Due | None


class InfoBoard(Model):
    """What the board shows of a channel: items to review and items waiting to go up."""

    channel_id: str
    campaign_id: str
    office_id: str
    title: str
    closed: bool
    pending: int
    returned: int
    waiting: list[WaitingItem]
    total_items: int
    next_event_at: UtcDateTime | None = None


def month_of(at: dt.datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m")
