"""`duban mail list|show|hooks`: the messages the dev SMTP sink caught, and the webhook posts it recorded.

Reads the Maildir the sink writes (`var/mail/` under the data dir); nothing is
sent or changed. The listing and reading functions are plain so the web
console's mail viewer can use them too.
"""

import email
import json
import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated, Any

import icalendar
import typer
from pydantic import BaseModel, Field
from rich.table import Table

from activities.webhooks import default_sink_dir
from console.output import bad_input, console, emit_json
from schemas.notify import ENVELOPE_HEADER
from workers.settings import load_settings

app = typer.Typer(
    help="Messages caught by the dev SMTP sink (var/mail) and recorded webhook posts.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
MaildirOption = Annotated[
    Path | None, typer.Option("--maildir", help="The Maildir to read (default: <data_dir>/mail).")
]


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


def _maildir(option: Path | None) -> Path:
    return option if option is not None else load_settings().mail_dir


@app.command("list")
def list_command(
    json_output: JsonFlag = False,
    maildir: MaildirOption = None,
    to: Annotated[str | None, typer.Option("--to", help="Only messages to this address.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Only the latest N (0: all).")] = 0,
) -> None:
    """List caught messages, oldest first."""
    items = list_messages(_maildir(maildir))
    if to:
        wanted = to.lower()
        items = [m for m in items if any(wanted in a.lower() for a in (*m.envelope_to, *m.to))]
    if limit:
        items = items[-limit:]
    if json_output:
        emit_json([m.model_dump(mode="json", by_alias=True) for m in items])
        return
    table = Table("id", "received", "to", "subject", "att.", show_lines=False)
    for m in items:
        extras = ("📅 " if m.invite else "") + (str(len(m.attachments)) if m.attachments else "")
        table.add_row(m.id[:18], f"{m.received:%Y-%m-%d %H:%M:%S}", ", ".join(m.envelope_to or m.to), m.subject, extras)
    console.print(table)
    console.print(f"{len(items)} message(s)")


@app.command("show")
def show_command(
    message: Annotated[str, typer.Argument(help="Message id from `duban mail list` (a unique prefix is enough).")],
    json_output: JsonFlag = False,
    maildir: MaildirOption = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML alternative instead of the text.")] = False,
) -> None:
    """Show one message: headers, the decoded body, attachments and invites."""
    try:
        detail = read_message(_maildir(maildir), message)
    except LookupError as exc:
        bad_input(str(exc))
    if json_output:
        emit_json(detail.model_dump(mode="json", by_alias=True))
        return
    console.print(f"[bold]Subject:[/bold] {detail.subject}", highlight=False)
    console.print(f"[bold]From:[/bold] {detail.sender}", highlight=False)
    console.print(f"[bold]To:[/bold] {', '.join(detail.to)}", highlight=False)
    if detail.date:
        console.print(f"[bold]Date:[/bold] {detail.date.isoformat()}", highlight=False)
    console.print(f"[bold]Message-ID:[/bold] {detail.message_id}", highlight=False)
    for name in detail.attachments:
        console.print(f"[bold]Attachment:[/bold] {name}", highlight=False)
    for invite in detail.invites:
        start = invite.start.isoformat() if invite.start else "?"
        alarm = ", alarm" if invite.alarm else ""
        console.print(f"[bold]Invite:[/bold] {invite.uid} at {start}{alarm}", highlight=False)
    console.print()
    console.print(detail.html if html else detail.text, highlight=False, markup=False)


@app.command("hooks")
def hooks_command(
    json_output: JsonFlag = False,
    sink_dir: Annotated[
        Path | None, typer.Option("--dir", help="Webhook sink directory (default: <data_dir>/webhooks).")
    ] = None,
) -> None:
    """List group-robot posts recorded by the local webhook sink."""
    records = list_hook_posts(sink_dir if sink_dir is not None else default_sink_dir(load_settings().data_dir))
    if json_output:
        emit_json(records)
        return
    table = Table("recorded", "webhook", "kind", "title")
    for r in records:
        payload = r.get("payload", {})
        markdown = payload.get("markdown", {})
        title = markdown.get("title") or str(markdown.get("content", "")).split("\n", 1)[0].lstrip("# ")
        table.add_row(str(r["recorded"])[:19], str(r.get("webhook", "")), str(r.get("kind", "")), title)
    console.print(table)
    console.print(f"{len(records)} post(s)")
