"""Calendar invites (.ics) for deadlines: one event per (cycle or lead, unit), updated in place when it moves.

The UID depends only on the scope and the unit, never on the date, so a
calendar that imported the first notice replaces the event when a later
message (a moved deadline, an extension) carries a new DTSTART. SEQUENCE and
DTSTAMP follow the instant of the batch, which grows with every later message.
"""

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from schemas.calendar import Due
from schemas.notify import MessageContext

PRODID = "-//duban//督办//ZH"
_SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def invite_uid(context: MessageContext) -> str:
    return f"{context.cycle_id or context.lead_id}/{context.unit_id}@duban"


def deadline_invite(
    context: MessageContext, due: Due, *, stamp: datetime, summary: str, url: str | None = None
) -> bytes:
    """An iCalendar (METHOD:PUBLISH) with one VEVENT at the due moment and a reminder one day before."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("calscale", "GREGORIAN")

    event = Event()
    event.add("uid", invite_uid(context))
    event.add("dtstamp", stamp.astimezone(UTC))
    # A deadline is a moment: DTSTART without DTEND is a zero-length event (RFC 5545 §3.6.1).
    event.add("dtstart", due.at.astimezone(UTC))
    # Minutes since a fixed epoch: later messages carry a higher sequence, so clients take the update.
    event.add("sequence", max(0, int((stamp - _SEQUENCE_EPOCH).total_seconds() // 60)))
    event.add("summary", summary)
    event.add("description", _description(context, due, url))
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED")
    if url:
        event.add("url", url)

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", timedelta(days=-1))
    event.add_component(alarm)
    cal.add_component(event)
    return bytes(cal.to_ical())


def _description(context: MessageContext, due: Due, url: str | None) -> str:
    lines = []
    if context.document.number:
        lines.append(f"依据文件：{context.document.number}")
    if due.rule_zh or due.rule:
        lines.append(f"计算方式：{due.rule_zh or due.rule}")
    if due.provisional:
        lines.append("此截止时间为暂定，正式节假日安排公布后可能调整。")
    if context.contact:
        contact = context.contact
        lines.append(f"联系人：{contact.name} {contact.phone}".rstrip())
    if url:
        lines.append(f"报送入口：{url}")
    return "\n".join(lines)
