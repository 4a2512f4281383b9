"""The messages the dev SMTP sink caught (a Maildir) and the webhook posts it recorded, read-only.

Used by `duban mail list|show|hooks` (console.mail_cmd) and the web console's mail viewer;
nothing is sent or changed.
"""

import email
import json
import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import icalendar
from pydantic import BaseModel, Field

from schemas.notify import ENVELOPE_HEADER


class InviteInfo(BaseModel):
    uid: str
    start: datetime | None = None
    summary: str = ""
    alarm: bool = False


class MailSummary(BaseModel):
    id: str
    received: datetime
    date: datetime | None = None
    sender: str = Field(default="", serialization_alias="from")
    to: list[str] = Field(default_factory=list)
    envelope_to: list[str] = Field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    attachments: list[str] = Field(default_factory=list)
    invite: bool = False


class MailDetail(MailSummary):
    text: str = ""
    html: str = ""
    invites: list[InviteInfo] = Field(default_factory=list)


def _open(maildir: Path) -> mailbox.Maildir | None:
    if not (maildir / "cur").is_dir():
        return None
    return mailbox.Maildir(maildir, create=False)


def _parse(box: mailbox.Maildir, key: str) -> tuple[EmailMessage, datetime]:
    msg = email.message_from_bytes(box.get_bytes(key), policy=default_policy)
    received = datetime.fromtimestamp(box.get_message(key).get_date(), UTC)
    return msg, received


def _summary(key: str, msg: EmailMessage, received: datetime) -> MailSummary:
    attachments = [part.get_filename() or part.get_content_type() for part in msg.iter_attachments()]
    date: datetime | None = None
    if msg["Date"]:
        try:
            date = parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            date = None
    envelope = str(msg.get(ENVELOPE_HEADER, ""))
    return MailSummary(
        id=key,
        received=received,
        date=date,
        sender=str(msg.get("From", "")),
        to=[str(a) for a in getattr(msg["To"], "addresses", ())] if msg["To"] else [],
        envelope_to=[a.strip() for a in envelope.split(",") if a.strip()],
        subject=str(msg.get("Subject", "")),
        message_id=str(msg.get("Message-ID", "")),
        attachments=attachments,
        invite=any(part.get_content_type() == "text/calendar" for part in msg.iter_attachments()),
    )


def list_messages(maildir: Path) -> list[MailSummary]:
    """Every caught message, oldest first."""
    box = _open(maildir)
    if box is None:
        return []
    items = []
    for key in box.iterkeys():
        msg, received = _parse(box, key)
        items.append(_summary(key, msg, received))
    return sorted(items, key=lambda s: (s.received, s.id))


def _invite_info(part: EmailMessage) -> list[InviteInfo]:
    content = part.get_content()
    cal = icalendar.Calendar.from_ical(content if isinstance(content, (str, bytes)) else str(content))
    infos = []
    for event in cal.walk("VEVENT"):
        start = event.decoded("DTSTART") if "DTSTART" in event else None
        infos.append(
            InviteInfo(
                uid=str(event.get("UID", "")),
                start=start if isinstance(start, datetime) else None,
                summary=str(event.get("SUMMARY", "")),
                alarm=bool(event.walk("VALARM")),
            )
        )
    return infos


def read_message(maildir: Path, message: str) -> MailDetail:
    """One message by its Maildir id (a unique prefix is enough); LookupError if none or several match."""
    box = _open(maildir)
    keys = [k for k in box.iterkeys() if k.startswith(message)] if box is not None and message else []
    if box is None or len(keys) != 1:
        raise LookupError(f"no message {message!r}" if not keys else f"{message!r} matches {len(keys)} messages")
    msg, received = _parse(box, keys[0])
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    invites: list[InviteInfo] = []
    for part in msg.iter_attachments():
        if part.get_content_type() == "text/calendar" and isinstance(part, EmailMessage):
            invites.extend(_invite_info(part))
    return MailDetail(
        **_summary(keys[0], msg, received).model_dump(),
        text=str(text_part.get_content()) if text_part is not None else "",
        html=str(html_part.get_content()) if html_part is not None else "",
        invites=invites,
    )


def list_hook_posts(sink_dir: Path) -> list[dict[str, Any]]:
    """Webhook posts recorded by the local sink, oldest first."""
    if not sink_dir.is_dir():
        return []
    files = sorted(sink_dir.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    records = []
    for path in files:
        record = json.loads(path.read_text("utf-8"))
        record["id"] = path.stem
        record["recorded"] = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
        records.append(record)
    return records
