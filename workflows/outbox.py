"""The mail a workflow owes, and the one policy it is sent under (`ReportingCycle` and `LeadReferral`).

Handlers never send: they queue notifications in the workflow's state. The run loop
hands the queue to `MailOutbox.send_all`, which sends it as `send_batch` activities of
at most BATCH_BYTES each, records every failed batch and every refused delivery where
the office sees it (a cycle's audit trail, a lead's timeline) and goes on: mail that
cannot go out never stops a workflow's clocks.

The backlog kept here (for the `get_mail_backlog` query) lives on the workflow object,
not in its carried state: it is rebuilt by replay and is empty at every continue-as-new
(the outbox is sent first), so it changes no command and no input of a running history.
"""

import datetime as dt
from collections.abc import Callable

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from schemas.activities import MailActivity
    from schemas.notify import BatchResult, DeliveryStatus, MailBacklog, MailBatch, MessageContext, Notification

# A message a day late has been overtaken by the next step of its ladder (the next reminder, the
# overdue notice, the escalation, a lead stage's own limit): past that the batch gives up and the
# failure is recorded, instead of backing off for days.
MAIL_USEFUL_FOR = dt.timedelta(days=1)
# A batch is up to BATCH_BYTES of messages over one SMTP session: a few minutes at most.
MAIL_TIMEOUT = dt.timedelta(minutes=5)
# The mail activity heartbeats once per message: a worker killed mid-batch is noticed in this
# time, not after the start-to-close timeout, and the retry sends only what is missing.
MAIL_HEARTBEAT = dt.timedelta(seconds=40)
MAIL_RETRY = RetryPolicy(initial_interval=dt.timedelta(seconds=2), maximum_interval=dt.timedelta(minutes=5))
# One mail activity's input stays well under Temporal's payload limits (warning 512 KB, error 2 MB,
# and an oversized input fails the workflow task for good): a bulletin to 200 units repeats the list
# of late units in every message, megabytes in one batch.
BATCH_BYTES = 256 * 1024
DELIVERED = (DeliveryStatus.SENT, DeliveryStatus.ALREADY_SENT)

# Recorded where the office sees it: (what, detail), e.g. ("mail_refused", "<key>: 550 ...").
Record = Callable[[str, str], None]


def first_batch(
    outbox: list[Notification], shared: dict[str, MessageContext] | None = None
) -> tuple[list[Notification], list[Notification]]:
    """The first messages of the outbox that fit one activity input; a shared list counts once per batch."""
    size = 0
    counted: set[str] = set()
    for i, n in enumerate(outbox):
        size += len(n.model_dump_json())
        if shared is not None and n.shared and n.shared not in counted:
            counted.add(n.shared)
            size += len(shared[n.shared].model_dump_json())
        if size > BATCH_BYTES and i > 0:
            return outbox[:i], outbox[i:]
    return outbox, []


class MailOutbox:
    """Sends a workflow's queued mail and keeps count of what is still owed."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.since: dt.datetime | None = None

    def owed(self, now: dt.datetime) -> None:
        """Messages were queued at `now`; the oldest unsent one keeps its time."""
        if self.since is None:
            self.since = now

    def settled(self) -> None:
        """The outbox is empty and no mail activity is running."""
        self.in_flight = 0
        self.since = None

    def backlog(self, queued: int) -> MailBacklog:
        unsent = queued + self.in_flight
        return MailBacklog(unsent=unsent, oldest_since=self.since if unsent else None)

    async def send_all(
        self, queue: list[Notification], shared: dict[str, MessageContext], scope: str, record: Record
    ) -> None:
        """Send `queue` batch by batch until it is empty. The list is emptied in place: messages a
        handler queues onto it while a batch is out go in a later batch of the same call."""
        if queue:
            self.owed(workflow.now())
        while queue:
            batch, rest = first_batch(queue, shared)
            # Patched: older runs sent their whole outbox as one batch, and must replay so.
            if rest and not workflow.patched("outbox-in-batches"):
                batch = queue
            batch = list(batch)  # a copy: `queue` is emptied in place below
            del queue[: len(batch)]
            await self.send(batch, shared, scope, record)

    async def send(
        self, batch: list[Notification], shared: dict[str, MessageContext], scope: str, record: Record
    ) -> BatchResult | None:
        """One mail activity; its failure and every refused delivery are recorded (None: it failed)."""
        now = workflow.now()
        self.in_flight = len(batch)
        try:
            result = await workflow.execute_activity_method(
                MailActivity.send_batch,
                MailBatch(
                    scope=scope,
                    instant=now,
                    notifications=batch,
                    useful_until=now + MAIL_USEFUL_FOR,
                    shared={n.shared: shared[n.shared] for n in batch if n.shared},
                ),
                start_to_close_timeout=MAIL_TIMEOUT,
                heartbeat_timeout=MAIL_HEARTBEAT,
                schedule_to_close_timeout=MAIL_USEFUL_FOR,
                retry_policy=MAIL_RETRY,
                summary=f"send {len(batch)} message(s)",
            )
        except ActivityError as err:
            # Mail that can no longer be useful is reported, not retried forever; the workflow goes on.
            workflow.logger.warning("mail batch failed", extra={"scope": scope, "error": str(err.cause)})
            record("mail_failed", f"{len(batch)} message(s): {err.cause or err}")
            return None
        finally:
            self.in_flight = 0
        for d in result.deliveries:
            if d.status in (DeliveryStatus.REFUSED, DeliveryStatus.NO_ADDRESS):
                record(f"mail_{d.status.value}", f"{d.key}: {d.detail}")
        return result
