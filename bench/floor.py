"""The mail floor: the same messages straight to the same sink with aiosmtplib, no Temporal.

Messages are built exactly as the mail activity builds them (same renderer,
same MIME, same calendar invite), then sent with the same batching as duban:
one SMTP session per batch, batches in parallel. Building is timed apart from
sending, so the table can show the bare SMTP floor and the floor with rendering.
"""

import asyncio
import datetime as dt
import time
from email.headerregistry import Address
from email.message import Message

import aiosmtplib

from activities.invites import deadline_invite
from activities.mail_render import MailRenderer, topic
from activities.mime import Envelope, Invite, build_message
from activities.portal_tokens import PortalTokens
from schemas.notify import Notification
from workers.settings import Settings


def build(settings: Settings, scope: str, notifications: list[Notification]) -> list[tuple[str, Message]]:
    """Each notification as (recipient, the MIME message the activity would send), scope header set to `scope`."""
    links = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    renderer = MailRenderer(links)
    sender = Address(display_name=settings.smtp.sender_name, addr_spec=settings.smtp.sender)
    now = dt.datetime.now(dt.UTC)
    out = []
    for n in notifications:
        assert n.to.email is not None
        invites = []
        if n.invite and n.context.due is not None:
            summary = "【截止】" + topic(n.context) + (f" — {n.context.unit_name}" if n.context.unit_name else "")
            url = renderer.links_for(n.context).portal
            invites.append(Invite(deadline_invite(n.context, n.context.due, stamp=now, summary=summary, url=url)))
        envelope = Envelope(
            sender=sender,
            to=Address(display_name=n.to.name, addr_spec=n.to.email),
            key=f"floor/{n.key}",
            date=now,
            headers={"X-Duban-Scope": scope, "X-Duban-Template": n.template.value},
        )
        out.append((n.to.email, build_message(envelope, renderer.render(n), invites=invites)))
    return out


async def send(settings: Settings, batches: list[list[tuple[str, Message]]]) -> float:
    """Send every batch over its own SMTP session, all batches at once; seconds until the last 250."""

    async def one(batch: list[tuple[str, Message]]) -> None:
        s = settings.smtp
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout_seconds)
        await client.connect()
        try:
            for recipient, msg in batch:
                await client.send_message(msg, sender=s.sender, recipients=[recipient])
        finally:
            await client.quit()

    t = time.perf_counter()
    await asyncio.gather(*(one(b) for b in batches))
    return time.perf_counter() - t


async def floor(settings: Settings, scope: str, batches: list[list[Notification]]) -> dict[str, float]:
    t = time.perf_counter()
    built = [build(settings, scope, b) for b in batches]
    build_s = time.perf_counter() - t
    send_s = await send(settings, built)
    return {"build_s": round(build_s, 3), "send_s": round(send_s, 3), "total_s": round(build_s + send_s, 3)}
