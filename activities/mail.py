"""The mail activity: deliver one batch of notifications, exactly once per key as far as SMTP allows.

Idempotency rests on two things:
- a deterministic Message-ID per notification key (`mime.message_id`), so
  even a duplicate is recognisable as the same message by readers and MTAs;
- the sent-ledger, checked before a message is sent and written right after
  the server accepts it (250 after DATA).

A cancel (the worker's graceful shutdown running out on SIGTERM, or the
workflow cancelling the activity) never opens that gap: the message in hand is
sent and recorded to the end, and the cancel takes effect between two messages;
on a worker shutdown the batch then fails with the retryable `WorkerShutdown`,
so another worker sends the rest.

The window: if the process dies (kill -9, OOM, a pod killed past its grace
period; or the connection drops, or DATA times out)
after the server accepted a message but before the ledger row is committed,
the next attempt sends that one message again, with the same Message-ID. This
window is a few milliseconds per message (one local SQLite commit) and is the
price of never losing a message — the alternative, recording before sending,
would silently drop a message on a crash. Two attempts running at the same
time (a heartbeat timeout while the old attempt still runs) can also overlap.

Errors: anything that may pass (connection refused, timeouts, 4xx) raises a
retryable `ApplicationError` so Temporal retries the activity; the ledger makes
the retry send only what is still missing. Permanent problems for the whole
batch (authentication refused, sender refused, bad batch) are non-retryable; a
permanent problem for one recipient (5xx on RCPT or DATA, unknown webhook) is a
REFUSED delivery while the others still go out. Past `useful_until` the batch
fails with the non-retryable `MailExpired`.

Calling it from a workflow: `execute_activity_method(MailActivity.send_batch, batch,
start_to_close_timeout=<a few minutes>, schedule_to_close_timeout=<useful_until - now>,
retry_policy=RetryPolicy(initial_interval=~30 s, backoff_coefficient=2, maximum_interval=~30 min))`;
the schedule-to-close bound and the `useful_until` check together stop the backoff once the mail
is no longer worth sending. Error types an operator may see: MailTemporary, SmtpUnavailable,
WorkerShutdown (retried); MailExpired, SmtpAuthRefused, SmtpSenderRefused, SmtpTlsRefused, SmtpMisconfigured,
SmtpRefused, BadBatch (final).
"""

import asyncio
import hashlib
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import Message
from pathlib import Path

import aiosmtplib
import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import documents, webhooks
from activities.blobs import BlobNotFoundError, BlobStore
from activities.invites import deadline_invite
from activities.mail_render import Download, MailRenderer, Rendered, locale_of, topic
from activities.mime import Attachment, Envelope, Invite, build_message, message_id
from activities.portal_tokens import PortalTokens
from activities.sent_ledger import SentLedger
from schemas.activities import MailActivity
from schemas.notify import BatchResult, Delivery, DeliveryStatus, MailBatch, Notification, Template
from schemas.smtp import SmtpSettings

EMAIL = "email"
DOCX = documents.DOCX_TYPE
WEBHOOK = "webhook"

# Templates where one recipient commonly gets many at once (a leader, many late units): merged into one digest.
DIGESTIBLE = frozenset(
    {
        Template.REMINDER,
        Template.DUE_TODAY,
        Template.OVERDUE,
        Template.ESCALATION,
        Template.BULLETIN,
        Template.OFFICE_REMINDER,
        Template.LEAD_STAGE,
    }
)


def digest_key(keys: Sequence[str]) -> str:
    """The key of a digest message: a function of its members' keys only, so a retry rebuilds the same one."""
    joined = "\n".join(sorted(keys))
    return "digest:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()


@dataclass
class _Outgoing:
    """One message to one address (or one post to one robot) carrying one or more notifications."""

    channel: str
    address: str  # email address, or webhook name
    members: list[Notification]

    @property
    def keys(self) -> list[str]:
        return [n.key for n in self.members]

    @property
    def key(self) -> str:
        return self.members[0].key if len(self.members) == 1 else digest_key(self.keys)


@dataclass
class _Progress:
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    temporary: list[str] = field(default_factory=list)

    def mark(self, out: _Outgoing, status: DeliveryStatus, detail: str = "") -> None:
        recipient = out.address if out.channel == EMAIL else f"{WEBHOOK}:{out.address}"
        for key in out.keys:
            self.deliveries[(out.channel, key)] = Delivery(
                key=key, recipient=recipient, channel=out.channel, status=status, detail=detail
            )


class _ConnectionLost(Exception):
    """The SMTP session is gone mid-batch; stop and let the activity be retried."""


class MailActivities(MailActivity):
    """Holds the injected mailer settings, ledger, blob store and link signer; one method per activity."""

    def __init__(
        self,
        smtp: SmtpSettings,
        ledger: SentLedger,
        blobs: BlobStore,
        links: PortalTokens | None,
        webhooks: dict[str, str] | None = None,
        webhook_sink_dir: Path | None = None,
    ) -> None:
        self.smtp = smtp
        self.ledger = ledger
        self.blobs = blobs
        self.renderer = MailRenderer(links)
        self.webhooks = dict(webhooks or {})
        self.webhook_sink_dir = webhook_sink_dir

    @activity.defn(name="send_batch")
    async def send_batch(self, batch: MailBatch) -> BatchResult:
        """Send every notification of one instant; per-recipient results, exactly one message per key."""
        _check_batch(batch)
        _check_useful(batch)
        batch = _with_shared(batch)
        progress = _Progress()
        email_out, webhook_out = self._plan(batch, progress)

        pending_email = self._skip_sent(email_out, EMAIL, progress)
        if pending_email:
            await self._send_email(batch, pending_email, progress)
        pending_posts = self._skip_sent(webhook_out, WEBHOOK, progress)
        if pending_posts:
            await self._post_webhooks(batch, pending_posts, progress)

        result = BatchResult(deliveries=_in_order(batch, progress))
        if progress.temporary:
            detail = "; ".join(progress.temporary)
            if batch.useful_until is not None and datetime.now(UTC) >= batch.useful_until:
                raise ApplicationError(
                    f"messages no longer useful and still undelivered: {detail}",
                    result.model_dump(mode="json"),
                    type="MailExpired",
                    non_retryable=True,
                )
            raise ApplicationError(f"temporary delivery failures: {detail}", type="MailTemporary")
        activity.logger.info(
            "mail batch delivered",
            extra={"scope": batch.scope, "count": len(result.deliveries), "refused": len(result.refused)},
        )
        return result

    # -- planning -------------------------------------------------------------------------------------

    def _plan(self, batch: MailBatch, progress: _Progress) -> tuple[list[_Outgoing], list[_Outgoing]]:
        """Split into email and webhook messages, merging digests; people with no channel are NO_ADDRESS."""
        emails: dict[str, list[Notification]] = {}
        posts: dict[str, list[Notification]] = {}
        for n in batch.notifications:
            if n.to.email:
                emails.setdefault(n.to.email.lower(), []).append(n)
            if n.to.webhook:
                posts.setdefault(n.to.webhook, []).append(n)
            if not n.to.email and not n.to.webhook:
                nobody = _Outgoing(EMAIL, "", [n])
                progress.mark(nobody, DeliveryStatus.NO_ADDRESS, f"{n.to.name} has no email or webhook")
        return _group(EMAIL, emails, batch.digest), _group(WEBHOOK, posts, batch.digest)

    def _skip_sent(self, outgoing: list[_Outgoing], channel: str, progress: _Progress) -> list[_Outgoing]:
        already = self.ledger.sent_keys([k for out in outgoing for k in out.keys], channel)
        pending: list[_Outgoing] = []
        for out in outgoing:
            done = [n for n in out.members if n.key in already]
            if done:
                progress.mark(_Outgoing(channel, out.address, done), DeliveryStatus.ALREADY_SENT)
            rest = [n for n in out.members if n.key not in already]
            if rest:
                pending.append(_Outgoing(channel, out.address, rest))
        return pending

    def _render(self, batch: MailBatch, out: _Outgoing, downloads: Sequence[Download] = ()) -> Rendered:
        if len(out.members) == 1:
            return self.renderer.render(out.members[0], batch.instant, downloads)
        return self.renderer.render_digest(out.members, batch.instant)

    def _invites(self, batch: MailBatch, out: _Outgoing) -> list[Invite]:
        invites = []
        for n in out.members:
            due = n.context.due
            if not n.invite or due is None:
                continue
            english = locale_of(n.locale) == "en"
            summary = ("Due: " if english else "【截止】") + topic(n.context)
            if n.context.unit_name:
                summary += f" — {n.context.unit_name}"
            # A calendar entry ends up in calendar services beyond the unit's mailbox: it carries the
            # console's door, never the unit's portal (write) link.
            links = self.renderer.links_for(n.context)
            ics = deadline_invite(n.context, due, stamp=batch.instant, summary=summary, url=links.console)
            name = f"{n.context.unit_id or 'deadline'}.ics" if len(out.members) > 1 else "invite.ics"
            invites.append(Invite(ics=ics, filename=name))
        return invites

    async def _attachments(
        self, batch: MailBatch, out: _Outgoing, made: dict[int, Attachment]
    ) -> tuple[list[Attachment], list[Download]]:
        """The message's files: attached in order while they fit `max_attachment_bytes`, the rest
        linked (a roll-up package of hundreds of megabytes would be refused by any relay)."""
        items = []
        linked = []
        budget = self.smtp.max_attachment_bytes
        for n in out.members:
            for ref in n.attachments:
                if ref.size > budget:
                    url = self.renderer.links.file_link(ref) if self.renderer.links else None
                    linked.append(Download(name=ref.name, size=ref.size, url=url))
                    continue
                budget -= ref.size
                items.append(Attachment(data=await self.blobs.get(ref), filename=ref.name, media_type=ref.media_type))
            if n.template is Template.BULLETIN and n.context.late_units:
                items.append(made[id(n.context)])  # built by `_bulletin_documents`
        return items, linked

    async def _bulletin_documents(self, batch: MailBatch, pending: list[_Outgoing]) -> dict[int, Attachment]:
        """The 通报 itself, as the Word document leadership files, dated the instant of the rung: one
        document for every recipient of a shared list, built once per batch, off the event loop (a
        1,000-line table takes seconds, which would hold up every workflow task of this worker)."""
        made: dict[int, Attachment] = {}
        for out in pending:
            for n in out.members:
                if n.template is Template.BULLETIN and n.context.late_units and id(n.context) not in made:
                    req = documents.bulletin_request(n.context, batch.instant)
                    data = await asyncio.to_thread(documents.bulletin_docx, req)
                    made[id(n.context)] = Attachment(
                        data=data, filename=documents.bulletin_filename(req), media_type=DOCX
                    )
        return made

    # -- email ----------------------------------------------------------------------------------------

    async def _send_email(self, batch: MailBatch, pending: list[_Outgoing], progress: _Progress) -> None:
        sender = Address(display_name=self.smtp.sender_name, addr_spec=self.smtp.sender)
        made = await self._bulletin_documents(batch, pending)
        prepared = []
        for out in pending:
            try:
                to = Address(display_name=out.members[0].to.name, addr_spec=out.address)
                envelope = Envelope(
                    sender=sender,
                    to=to,
                    key=out.key,
                    date=datetime.now(UTC),
                    headers=_duban_headers(batch, out),
                )
                attachments, linked = await self._attachments(batch, out, made)
                msg = build_message(
                    envelope,
                    self._render(batch, out, linked),
                    invites=self._invites(batch, out),
                    attachments=attachments,
                )
            except (ValueError, HeaderParseError) as exc:
                progress.mark(out, DeliveryStatus.REFUSED, f"cannot address {out.address!r}: {exc}")
                continue
            except BlobNotFoundError as exc:
                progress.mark(out, DeliveryStatus.REFUSED, f"attachment missing from the blob store: {exc}")
                continue
            prepared.append((out, msg))
            # Building a message is CPU work on the worker's event loop: yield between messages, or a
            # batch of hundreds (a bulletin's Word document, every receipt of a deadline-day burst)
            # holds the loop for seconds, and with it every workflow task's completion (seen at 1,000
            # units: 20-30 s workflow tasks, then aborted Updates).
            await asyncio.sleep(0)
        if not prepared:
            return

        client = await self._connect()
        try:
            for count, (out, msg) in enumerate(prepared, start=1):
                await _to_the_end(self._send_one(client, batch, out, msg, progress))
                if activity.in_activity():
                    activity.heartbeat(count)
        except _ConnectionLost as exc:
            progress.temporary.append(str(exc))
        except asyncio.CancelledError:
            sent = sum(1 for d in progress.deliveries.values() if d.status is DeliveryStatus.SENT)
            if activity.in_activity() and activity.is_worker_shutdown():
                # Not a cancel anyone asked for: the worker is going away. A retryable failure
                # hands the rest of the batch to another worker; the ledger skips what went out.
                raise ApplicationError(
                    f"worker shutting down: batch {batch.scope} stopped after {sent} of {len(prepared)} messages",
                    type="WorkerShutdown",
                ) from None
            raise
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        """Open the batch's one session: connect, STARTTLS or implicit TLS, login — each failure classified."""
        s = self.smtp
        where = f"SMTP server {s.host}:{s.port}"
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout_seconds,
            use_tls=s.implicit_tls,
            start_tls=s.starttls and not s.implicit_tls,
        )
        try:
            try:
                await client.connect()
            except ssl.SSLCertVerificationError as exc:
                raise _permanent(f"{where} presented a certificate we do not trust: {exc}", "SmtpTlsRefused") from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise _by_code(f"{where} answered {exc.code} {exc.message}", exc.code, "SmtpRefused") from exc
            except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                raise ApplicationError(
                    f"{where} unreachable: {type(exc).__name__}: {exc}", type="SmtpUnavailable"
                ) from exc
            except aiosmtplib.SMTPException as exc:
                # Not a response code and not the network: STARTTLS required but not offered, and the like.
                raise _permanent(f"{where} cannot do what the settings require: {exc}", "SmtpMisconfigured") from exc
            if s.username:
                password = s.password.get_secret_value() if s.password else ""
                try:
                    await client.login(s.username, password)
                except aiosmtplib.SMTPAuthenticationError as exc:
                    # 454 is "temporary authentication failure" (RFC 4954); 535 and friends are final.
                    message = f"{where} refused login for {s.username!r}: {exc.code} {exc.message}"
                    raise _by_code(message, exc.code, "SmtpAuthRefused") from exc
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                    raise ApplicationError(f"{where} dropped the login: {exc}", type="SmtpUnavailable") from exc
                except aiosmtplib.SMTPException as exc:
                    raise _permanent(f"{where} cannot log in: {exc}", "SmtpMisconfigured") from exc
        except BaseException:
            client.close()
            raise
        return client

    async def _send_one(
        self, client: aiosmtplib.SMTP, batch: MailBatch, out: _Outgoing, msg: Message, progress: _Progress
    ) -> None:
        try:
            await client.send_message(msg, sender=self.smtp.sender, recipients=[out.address])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            self._refusal(out, refusal.code, refusal.message, progress)
            return
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code >= 500:
                _count_refusal("SmtpSenderRefused")
                raise ApplicationError(
                    f"SMTP server refused our sender {self.smtp.sender!r}: {exc.code} {exc.message}",
                    type="SmtpSenderRefused",
                    non_retryable=True,
                ) from exc
            progress.temporary.append(f"{out.address}: sender deferred {exc.code} {exc.message}")
            return
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            raise _ConnectionLost(f"connection lost at {out.address}: {type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            self._refusal(out, exc.code, exc.message, progress)
            return
        # Accepted: record at once. A crash between the 250 above and this commit is the documented window.
        self.ledger.record(
            out.keys, channel=EMAIL, message_id=message_id(out.key), recipient=out.address, scope=batch.scope
        )
        progress.mark(out, DeliveryStatus.SENT, message_id(out.key))

    @staticmethod
    def _refusal(out: _Outgoing, code: int, text: str, progress: _Progress) -> None:
        if code >= 500:
            progress.mark(out, DeliveryStatus.REFUSED, f"{code} {text}")
        else:
            progress.temporary.append(f"{out.address}: {code} {text}")

    # -- webhooks -------------------------------------------------------------------------------------

    async def _post_webhooks(self, batch: MailBatch, pending: list[_Outgoing], progress: _Progress) -> None:
        async with httpx.AsyncClient(timeout=self.smtp.timeout_seconds) as client:
            for out in pending:
                raw = self.webhooks.get(out.address)
                if raw is None:
                    progress.mark(out, DeliveryStatus.REFUSED, f"webhook {out.address!r} is not configured")
                    continue
                try:
                    target = webhooks.parse_webhook(raw)
                    payload = webhooks.build_payload(target.kind, self._render(batch, out), out.members[0].to)
                    if target.sink:
                        if self.webhook_sink_dir is None:
                            raise webhooks.WebhookError("sink:// webhook without a sink directory", temporary=False)
                        webhooks.write_sink(self.webhook_sink_dir, out.address, out.key, target, payload)
                    else:
                        await webhooks.post(client, target, payload)
                except webhooks.WebhookError as exc:
                    if exc.temporary:
                        progress.temporary.append(f"webhook {out.address}: {exc}")
                    else:
                        progress.mark(out, DeliveryStatus.REFUSED, str(exc))
                    continue
                self.ledger.record(
                    out.keys, channel=WEBHOOK, message_id=out.key, recipient=out.address, scope=batch.scope
                )
                progress.mark(out, DeliveryStatus.SENT)


async def _to_the_end(step: Awaitable[None]) -> None:
    """Run one message's send and ledger commit to the end, even when the activity is cancelled meanwhile.

    A cancel landing between the server's 250 and the ledger commit would send that message
    again on the retry; so a cancel waits for the message in hand (bounded by the SMTP timeout)
    and takes effect between two messages.
    """
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled() and task.exception() is not None:
            # The type only: SMTP errors quote addresses, which stay out of logs.
            activity.logger.warning(
                "a message failed while its batch was cancelled: %s", type(task.exception()).__name__
            )
        raise asyncio.CancelledError
    task.result()


def _duban_headers(batch: MailBatch, out: _Outgoing) -> dict[str, str]:
    """Headers for operators and the mail viewer: the scope, and the template (or `digest` for a mixed one)."""
    kinds = {n.template.value for n in out.members}
    headers = {"X-Duban-Scope": batch.scope, "X-Duban-Template": kinds.pop() if len(kinds) == 1 else "digest"}
    if len(out.members) > 1:
        headers["X-Duban-Digest"] = str(len(out.members))
    return headers


# Exported with the SDK's metrics (no prefix): deploy/monitoring alerts on it. A refused login
# or sender stops every batch until someone fixes the relay's settings.
REFUSALS_METRIC = "duban_mail_refusals"


def _permanent(message: str, kind: str) -> ApplicationError:
    _count_refusal(kind)
    return ApplicationError(message, type=kind, non_retryable=True)


def _count_refusal(kind: str) -> None:
    if activity.in_activity():
        counter = activity.metric_meter().create_counter(
            REFUSALS_METRIC, "mail batches refused for good by the SMTP server or its settings, by error type"
        )
        counter.add(1, {"type": kind})


def _by_code(message: str, code: int, permanent_kind: str) -> ApplicationError:
    """A 4xx reply may pass (retry); a 5xx will not (fail, visible to operators)."""
    if code >= 500:
        return _permanent(message, permanent_kind)
    return ApplicationError(message, type="SmtpUnavailable")


def _check_batch(batch: MailBatch) -> None:
    seen: set[str] = set()
    for n in batch.notifications:
        if n.key in seen:
            raise ApplicationError(
                f"notification key {n.key!r} appears twice in batch {batch.scope}", type="BadBatch", non_retryable=True
            )
        seen.add(n.key)


def _with_shared(batch: MailBatch) -> MailBatch:
    """Every notification with its full context: a shared list put back in place (the same object for all)."""
    if not batch.shared:
        return batch
    missing = sorted({n.shared for n in batch.notifications if n.shared and n.shared not in batch.shared})
    if missing:
        raise ApplicationError(
            f"batch {batch.scope} names shared contexts it does not carry: {', '.join(missing)}",
            type="BadBatch",
            non_retryable=True,
        )
    notifications = [
        n.model_copy(update={"context": batch.shared[n.shared]}) if n.shared else n for n in batch.notifications
    ]
    return batch.model_copy(update={"notifications": notifications})


def _check_useful(batch: MailBatch) -> None:
    if batch.useful_until is not None and datetime.now(UTC) >= batch.useful_until:
        raise ApplicationError(
            f"batch {batch.scope} at {batch.instant.isoformat()} was useful until {batch.useful_until.isoformat()}",
            type="MailExpired",
            non_retryable=True,
        )


def _group(channel: str, by_address: dict[str, list[Notification]], digest: bool) -> list[_Outgoing]:
    out: list[_Outgoing] = []
    for address, members in by_address.items():
        merge = [n for n in members if n.template in DIGESTIBLE] if digest else []
        if len(merge) > 1:
            out.append(_Outgoing(channel, address, merge))
        merged = {n.key for n in merge} if len(merge) > 1 else set()
        out.extend(_Outgoing(channel, address, [n]) for n in members if n.key not in merged)
    return out


def _in_order(batch: MailBatch, progress: _Progress) -> list[Delivery]:
    """Deliveries in the batch's order: email before webhook for a person with both."""
    ordered = []
    for n in batch.notifications:
        for channel in (EMAIL, WEBHOOK):
            delivery = progress.deliveries.get((channel, n.key))
            if delivery is not None:
                ordered.append(delivery)
    return ordered
