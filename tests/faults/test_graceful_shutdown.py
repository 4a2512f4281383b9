"""SIGTERM to a real worker in the middle of a large mail batch: no duplicate, no lost message.

What a rollout or an HPA scale-down does to a worker: SIGTERM, the SDK's graceful
shutdown (here 2 s, so it runs out mid-batch), then the mail batch is cancelled. The
batch must stop between two messages — the sink holds every 250 reply a little, so
the cancel lands while the server still owes one — fail with the retryable
`WorkerShutdown`, and a new worker must send the rest. Real dev server, real
`duban worker` processes, real aiosmtpd sink.
"""

import asyncio
import datetime as dt
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.client import Client

from activities.records import Records
from activities.sent_ledger import SentLedger
from schemas.cycle import CycleStatus
from tests.faults.stack import FaultStack
from tests.faults.test_faults import Maildir, retrying
from tests.plans import cycle_input, plan
from workers.codec import codec_from_settings
from workers.dev.binaries import bundled_binary
from workers.dev.smtp_sink import MaildirHandler, SmtpSink
from workers.temporal import connect

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

N_UNITS = 400
GRACE_SECONDS = 2
# Each 250 comes this late: 400 notices take > 8 s, far past the 2 s grace.
REPLY_DELAY = 0.02


class SlowReplyHandler(MaildirHandler):
    """Stores the message first, then answers: a cancel in between is the window that used to duplicate."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(REPLY_DELAY)
        return reply


def start_worker(stack: FaultStack, grace: float) -> "subprocess.Popen[bytes]":
    log = (stack.root / "log").resolve()
    log.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(bundled_binary("duban")), "worker"],
        stdout=(log / "worker.log").open("ab"),
        stderr=subprocess.STDOUT,
        env={**stack.env(), "DUBAN_TEMPORAL__GRACEFUL_SHUTDOWN_SECONDS": str(grace)},
        start_new_session=True,
    )


async def test_sigterm_mid_batch_stops_between_messages_and_a_new_worker_sends_the_rest(tmp_path: Path) -> None:
    """SIGTERM after ~50 of 400 notices: the worker exits cleanly, every delivered message is in the
    ledger, and a second worker delivers the rest — each Message-ID exactly once."""
    stack = FaultStack(tmp_path)
    first: subprocess.Popen[bytes] | None = None
    second: subprocess.Popen[bytes] | None = None
    try:
        stack.start_temporal()
        stack.sink = SmtpSink("127.0.0.1", stack.smtp_port, stack.data_dir / "mail")
        stack.sink.handler = SlowReplyHandler(stack.sink.maildir)
        stack.sink.start()
        settings = stack.settings()
        codec_from_settings(settings)  # the development payload key, written before a worker reads it
        first = start_worker(stack, GRACE_SECONDS)
        client = await retrying(lambda: connect(settings), 30)
        assert isinstance(client, Client)

        p = plan(N_UNITS, campaign_id="sigterm")
        inp = cycle_input(p, dt.datetime.now(dt.UTC))
        assert inp.spec is not None
        cycle_id = inp.spec.cycle_id
        await client.start_workflow(
            "ReportingCycle", inp, id=cycle_id, task_queue=settings.temporal.task_queue, result_type=CycleStatus
        )

        maildir = Maildir(stack.data_dir / "mail")
        give_up = time.monotonic() + 120
        while maildir.count() < 50:
            assert time.monotonic() < give_up, "the notice batch did not start"
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await asyncio.to_thread(first.wait, 60)
        took = time.monotonic() - signalled
        assert code == 0, f"the worker exited with {code} on SIGTERM"
        # The grace period, then at most the message in hand.
        assert took < GRACE_SECONDS + 10, f"the worker took {took:.1f}s to stop"

        # At the moment the worker is gone: nothing accepted and left unrecorded, and the batch stopped early.
        ledger = SentLedger(Records.in_file(stack.data_dir / "records.db"))
        delivered = Counter(m.message_id for m in maildir.messages())
        recorded = {e.message_id for e in await ledger.entries(cycle_id)}
        assert set(delivered) == recorded, "a message was accepted by the server but not recorded"
        assert 50 <= len(recorded) < N_UNITS, f"the batch was not interrupted ({len(recorded)} sent)"
        stopped_at = len(recorded)

        second = start_worker(stack, 30)
        give_up = time.monotonic() + 180
        while len({e.key for e in await ledger.entries(cycle_id)}) < N_UNITS:
            assert time.monotonic() < give_up, (
                f"the rest never went out: {len(await ledger.entries(cycle_id))}/{N_UNITS}"
            )
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # nothing more should arrive

        delivered = Counter(m.message_id for m in maildir.messages())
        entries = await ledger.entries(cycle_id)
        assert {e.key for e in entries} == {f"{cycle_id}/notice@0/u{i}/unit_contact/u{i}@yaan.example" for i in
                                            range(1, N_UNITS + 1)}  # fmt: skip
        assert set(delivered) == {e.message_id for e in entries}, "lost or unrecorded messages"
        duplicated = {m: n for m, n in delivered.items() if n > 1}
        assert duplicated == {}, f"sent twice: {duplicated}"
        assert sum(delivered.values()) == N_UNITS
        rest = N_UNITS - stopped_at
        print(f"\nSIGTERM after {stopped_at} of {N_UNITS} notices; worker stopped in {took:.1f}s; "
              f"second worker sent {rest}; Maildir {sum(delivered.values())} files, 0 duplicates")  # fmt: skip
        assert Counter(delivered.values()) == Counter({1: N_UNITS})
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        stack.stop_all()
