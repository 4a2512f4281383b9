"""Notifications: what workflows ask the mail activity to deliver.

A workflow decides *who* must be told *what* at *which* instant; the activity
renders the template, builds the portal link (it holds the signing key, the
workflow never does) and delivers. The `key` makes delivery idempotent: it is
unique per (cycle or lead, step, recipient) and becomes the Message-ID.
"""

import datetime as dt
from enum import StrEnum

from pydantic import Field

from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.calendar import Due
from schemas.people import Contact, Person

# The dev SMTP sink prepends it to each stored message so the mail viewer shows who it was
# delivered to (Bcc included). Here, not in the sink, so reading the Maildir needs no aiosmtpd.
ENVELOPE_HEADER = "X-Duban-Envelope-To"


class Template(StrEnum):
    NOTICE = "notice"  # 通知: a new cycle is open
    REMINDER = "reminder"  # 催办 before the due moment
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # to the unit, at the due moment
    ESCALATION = "escalation"  # 督办 to leaders
    BULLETIN = "bulletin"  # 通报 of late units
    EXTENSION_REQUESTED = "extension_requested"  # to the office: a unit asks for more time (延期申请)
    EXTENSION_DECIDED = "extension_decided"
    RETURNED = "returned"  # 退回修改
    RECEIPT = "receipt"  # 回执 for a submission
    DEADLINE_MOVED = "deadline_moved"  # recomputed after holiday data arrived
    ROLLUP = "rollup"  # consolidated package to the upper office
    OFFICE_REMINDER = "office_reminder"  # the office's own upward deadline
    LEAD_STAGE = "lead_stage"  # a lead referral stage: new, reminder, missed, done
    INFO_OPENED = "info_opened"  # the standing information channel is open: the unit's portal link
    INFO_RECEIPT = "info_receipt"  # 回执 for an information item (及时报送)
    INFO_DECIDED = "info_decided"  # the office adopted, returned or filed an item
    INFO_FORWARD_REMINDER = "info_forward_reminder"  # the office: adopted items must go up soon
    INFO_FORWARD = "info_forward"  # an adopted item to the upper office by mail
    INFO_QUIET = "info_quiet"  # a gentle reminder to a unit that sent nothing for a while


class DocumentRef(Model):
    number: str = ""  # e.g. 雅打假办发〔2017〕2号
    title: str = ""
    office_name: str = ""
    upstream_number: str = ""


class UnitLine(Model):
    """One unit in a list (bulletin, digest, roll-up)."""

    unit_id: str
    unit_name: str
    due: Due | None = None
    status: str = ""
    days_late: int = 0


class ItemLine(Model):
    """One information item in a message (及时报送)."""

    item_id: str
    unit_name: str = ""
    kind: str = ""  # in words: 典型案例 …
    title: str = ""
    state: str = ""  # adopted | returned | filed | pending
    due: Due | None = None  # the forwarding limit, for items waiting to go up


class MessageContext(Model):
    """Everything a template may print. Fields not used by a template stay empty."""

    document: DocumentRef = DocumentRef()
    contact: Contact | None = None
    office_name: str = ""
    campaign_id: str = ""
    cycle_id: str = ""
    lead_id: str = ""
    period: str = ""
    obligation_title: str = ""
    unit_id: str = ""
    unit_name: str = ""
    due: Due | None = None
    previous_due: Due | None = None
    work_areas: list[str] = Field(default_factory=list)
    late_units: list[UnitLine] = Field(default_factory=list)
    missing_units: list[UnitLine] = Field(default_factory=list)
    reason: str = ""
    wanted: dt.date | None = None  # the date a unit's extension request asks for
    receipt_no: str = ""
    escalation_level: int = 0
    stage: str = ""  # lead stage name
    stage_event: str = ""  # lead: opened | reminder | missed | done
    lead_title: str = ""
    item: ItemLine | None = None  # an information item (及时报送)
    items: list[ItemLine] = Field(default_factory=list)
    quiet_days: int = 0
    # Include the unit's portal link (and its calendar feed) in the message.
    portal_link: bool = False


class Notification(Model):
    key: str = Field(min_length=1, description="(scope, step, recipient): unique, stable across retries and restarts")
    template: Template
    locale: str = "zh-CN"
    to: Person
    role: str = ""  # unit_contact | unit_leader | office | leadership | upper_office
    context: MessageContext
    # Attach an .ics invite for context.due (stable UID per scope+unit, so a moved deadline updates it).
    invite: bool = False
    attachments: list[BlobRef] = Field(default_factory=list)
    # A list message (通报, escalation to leadership) names every late unit: its context travels once
    # per batch, in `MailBatch.shared` under this key, instead of once per recipient.
    shared: str = ""


class MailBatch(Model):
    """All messages of one instant of one workflow: one activity call, one SMTP connection."""

    scope: str  # cycle or lead workflow id
    instant: UtcDateTime
    notifications: list[Notification]
    # Past this moment a message is no longer useful; retries stop and the failure is reported.
    useful_until: UtcDateTime | None = None
    digest: bool = True
    shared: dict[str, MessageContext] = Field(default_factory=dict, description="contexts named by `shared`")


class DeliveryStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    REFUSED = "refused"  # permanent for this recipient
    NO_ADDRESS = "no_address"


class Delivery(Model):
    key: str
    recipient: str
    channel: str = "email"
    status: DeliveryStatus
    detail: str = ""


class BatchResult(Model):
    deliveries: list[Delivery] = Field(default_factory=list)

    @property
    def refused(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status is DeliveryStatus.REFUSED]


class MailBacklog(Model):
    """Messages a workflow owes and has not delivered yet: queued, or in a mail activity still retrying.

    Answers the `get_mail_backlog` query of both workflows; the worker's metrics add them up."""

    unsent: int = 0
    oldest_since: UtcDateTime | None = None  # when the oldest of them was queued
