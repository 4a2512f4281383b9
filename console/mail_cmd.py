"""`duban mail list|show|hooks`: the messages the dev SMTP sink caught, and the webhook posts it recorded.

Reads the Maildir the sink writes (`var/mail/` under the data dir) through console.mail_viewer;
nothing is sent or changed.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from activities.webhooks import default_sink_dir
from console.mail_viewer import list_hook_posts, list_messages, read_message
from console.options import JsonFlag
from console.output import bad_input, console, emit_json
from workers.settings import load_settings

app = typer.Typer(
    help="Messages caught by the dev SMTP sink (var/mail) and recorded webhook posts.", no_args_is_help=True
)

MaildirOption = Annotated[
    Path | None, typer.Option("--maildir", help="The Maildir to read (default: <data_dir>/mail).")
]


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
