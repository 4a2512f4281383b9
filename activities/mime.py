"""Building the MIME message: what Foxmail, Outlook and webmail all show correctly.

- Headers in UTF-8 as RFC 2047 encoded words (the `email` package's default
  policy does this when it serialises), so no reader needs SMTPUTF8.
- multipart/alternative with text/plain first and text/html second, both
  UTF-8 and base64 (quoted-printable of Chinese is three times the size and
  some gateways mangle long QP lines).
- Inside multipart/mixed when there are attachments: the .ics invite as
  text/calendar (method=PUBLISH) and blob attachments with RFC 2231 file names.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from activities.mail_render import Rendered

MESSAGE_ID_DOMAIN = "duban"


def message_id(key: str) -> str:
    """Deterministic: the same notification key gives the same Message-ID on every attempt."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True)
class Attachment:
    data: bytes
    filename: str
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Invite:
    ics: bytes
    filename: str = "invite.ics"


@dataclass(frozen=True)
class Envelope:
    sender: Address
    to: Address
    key: str
    date: datetime
    headers: dict[str, str] = field(default_factory=dict)


def build_message(
    envelope: Envelope,
    rendered: Rendered,
    *,
    invites: list[Invite] | None = None,
    attachments: list[Attachment] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = envelope.sender
    msg["To"] = envelope.to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = message_id(envelope.key)
    # RFC 3834: tells vacation responders and ticket systems not to answer a robot.
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in envelope.headers.items():
        msg[name] = value

    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    for invite in invites or []:
        msg.add_attachment(
            invite.ics.decode("utf-8"),
            subtype="calendar",
            charset="utf-8",
            cte="base64",
            filename=invite.filename,
            params={"method": "PUBLISH"},
        )
    for item in attachments or []:
        maintype, _, subtype = item.media_type.partition("/")
        msg.add_attachment(
            item.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return msg
