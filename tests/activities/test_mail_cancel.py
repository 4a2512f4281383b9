"""A cancelled mail batch stops between two messages, never between the server's 250 and the ledger commit.

The sink here stores each message and then holds its 250 reply until the test lets
it go, so the cancel lands exactly in the window that used to send a message twice.
"""

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from activities.mime import message_id
from activities.sent_ledger import SentLedger
from schemas.notify import BatchResult, DeliveryStatus
from tests.activities.conftest import free_port
from tests.activities.mail_helpers import batch, note
from tests.blobstores import local_store
from workers.dev.smtp_sink import MaildirHandler, SmtpSink
from workers.settings import SmtpSettings


class HeldReplyHandler(MaildirHandler):
    """Stores the message, says so, then answers 250 only once released (a slow relay's DATA)."""

    def __init__(self, maildir: Path) -> None:
        super().__init__(maildir)
        self.stored = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        self.stored.set()
        # The release comes from the test's thread (the sink runs its own loop in another).
        await asyncio.to_thread(self.release.wait, 30)
        return reply


@pytest.fixture
def held_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port(), tmp_path / "mail")
    sink.handler = HeldReplyHandler(sink.maildir)
    sink.start()
    yield sink
    sink.stop()


def mailer_for(sink: SmtpSink, ledger: SentLedger, tmp_path: Path) -> MailActivities:
    smtp = SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=10.0)
    return MailActivities(smtp, ledger, local_store(tmp_path / "blobs"), None)


def ids_in(sink: SmtpSink) -> list[str]:
    return sorted(str(m["Message-ID"]) for m in sink.messages())


async def cancel_inside_first_reply(env: ActivityEnvironment, sink: SmtpSink, mailer: MailActivities) -> BaseException:
    """Start a two-message batch, cancel while the first message waits for its 250, return what it raised."""
    handler = sink.handler
    assert isinstance(handler, HeldReplyHandler)
    run = asyncio.ensure_future(
        env.run(mailer.send_batch, batch(note("k/1", "one@yaan.example"), note("k/2", "two@yaan.example")))
    )
    assert await asyncio.to_thread(handler.stored.wait, 10), "the first message never reached the sink"
    env.cancel()
    await asyncio.sleep(0.2)  # the cancel is pending while the server still owes its reply
    assert not run.done(), "the batch gave up on a message the server had already taken"
    handler.release.set()
    with pytest.raises(BaseException) as caught:  # noqa: PT011 - the type is what the test checks below
        await run
    return caught.value


class TestCancelBetweenMessages:
    async def test_a_cancel_waits_for_the_ledger_then_stops_before_the_next_message(
        self, held_sink: SmtpSink, tmp_path: Path
    ) -> None:
        """Cancelled while the server owes its 250: that one is recorded, the next not sent, a retry adds only it."""
        ledger = SentLedger(tmp_path / "ledger.sqlite")
        mailer = mailer_for(held_sink, ledger, tmp_path)
        raised = await cancel_inside_first_reply(ActivityEnvironment(), held_sink, mailer)
        assert isinstance(raised, asyncio.CancelledError)
        assert ledger.sent_keys(["k/1", "k/2"]) == {"k/1"}
        assert ids_in(held_sink) == [message_id("k/1")]

        retry: BatchResult = await ActivityEnvironment().run(
            mailer.send_batch, batch(note("k/1", "one@yaan.example"), note("k/2", "two@yaan.example"))
        )
        assert {d.key: d.status for d in retry.deliveries} == {
            "k/1": DeliveryStatus.ALREADY_SENT,
            "k/2": DeliveryStatus.SENT,
        }
        assert ids_in(held_sink) == sorted([message_id("k/1"), message_id("k/2")])

    async def test_on_worker_shutdown_the_batch_fails_retryably_for_another_worker(
        self, held_sink: SmtpSink, tmp_path: Path
    ) -> None:
        """A cancel from the worker's own shutdown becomes the retryable WorkerShutdown, after the message in hand."""
        ledger = SentLedger(tmp_path / "ledger.sqlite")
        mailer = mailer_for(held_sink, ledger, tmp_path)
        env = ActivityEnvironment()
        env.worker_shutdown()
        raised = await cancel_inside_first_reply(env, held_sink, mailer)
        assert isinstance(raised, ApplicationError)
        assert raised.type == "WorkerShutdown"
        assert not raised.non_retryable
        assert "after 1 of 2 messages" in str(raised)
        assert ledger.sent_keys(["k/1", "k/2"]) == {"k/1"}
        assert ids_in(held_sink) == [message_id("k/1")]
