"""The dev SMTP sink as the supervisor runs it, and the sent-ledger file it pairs with."""

import asyncio
import contextlib
import email
import mailbox
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import aiosmtplib

from activities.sent_ledger import SentLedger
from schemas.notify import ENVELOPE_HEADER
from tests.activities.conftest import free_port
from workers.dev.smtp_sink import serve_sink


def sample(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "office@yaan.example"
    msg["To"] = "unit@yaan.example"
    msg["Subject"] = subject
    msg.set_content("正文")
    return msg


def stored(maildir: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(maildir, create=False)
    parsed = [email.message_from_bytes(box.get_bytes(key), policy=default_policy) for key in box.iterkeys()]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def stored_subjects(maildir: Path) -> list[str]:
    return sorted(str(m["Subject"]) for m in stored(maildir))


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


async def test_serve_sink_in_the_running_loop(tmp_path: Path) -> None:
    """serve_sink stores what it receives, with the envelope recipients, until cancelled."""
    port = free_port()
    task = asyncio.create_task(serve_sink("127.0.0.1", port, tmp_path / "mail"))
    try:
        for _ in range(100):
            try:
                await aiosmtplib.send(sample("一"), hostname="127.0.0.1", port=port, recipients=["bcc@yaan.example"])
                break
            except aiosmtplib.SMTPConnectError:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    [msg] = stored(tmp_path / "mail")
    assert msg["Subject"] == "一"
    assert msg[ENVELOPE_HEADER] == "bcc@yaan.example"


def test_module_runs_as_a_process(tmp_path: Path) -> None:
    """`python -m workers.dev.smtp_sink` serves, stores, and exits cleanly on SIGTERM."""
    port = free_port()
    maildir = tmp_path / "mail"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workers.dev.smtp_sink",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--maildir",
            maildir,
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_for_port(port)
        asyncio.run(aiosmtplib.send(sample("进程"), hostname="127.0.0.1", port=port))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert code == 0
    assert stored_subjects(maildir) == ["进程"]


class TestSentLedger:
    def test_wal_mode(self, tmp_path: Path) -> None:
        """The file is in WAL mode, so readers never block the writer of another process."""
        SentLedger(tmp_path / "l.sqlite")
        with contextlib.closing(sqlite3.connect(tmp_path / "l.sqlite")) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_first_record_wins_and_persists(self, tmp_path: Path) -> None:
        """Recording a key twice keeps the first row; a new instance on the file sees it."""
        SentLedger(tmp_path / "l.sqlite").record(["a", "b"], channel="email", message_id="<1@duban>", recipient="x")
        SentLedger(tmp_path / "l.sqlite").record(["a"], channel="email", message_id="<2@duban>", recipient="y")
        reopened = SentLedger(tmp_path / "l.sqlite")
        assert reopened.sent_keys(["a", "b", "c"]) == {"a", "b"}
        assert reopened.sent_keys(["a"], channel="webhook") == set()
        assert {e.key: e.message_id for e in reopened.entries()} == {"a": "<1@duban>", "b": "<1@duban>"}

    def test_concurrent_writers(self, tmp_path: Path) -> None:
        """Many writers at once (threads, each with its own connection) lose nothing."""
        ledger = SentLedger(tmp_path / "l.sqlite")

        def write(i: int) -> None:
            SentLedger(ledger.path).record([f"k{i}"], channel="email", message_id=f"<{i}@duban>", recipient="x")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(write, range(200)))
        assert len(ledger.sent_keys(f"k{i}" for i in range(200))) == 200

    def test_large_lookups(self, tmp_path: Path) -> None:
        """Lookups beyond SQLite's parameter limit are chunked."""
        ledger = SentLedger(tmp_path / "l.sqlite")
        keys = [f"k{i}" for i in range(1500)]
        ledger.record(keys, channel="email", message_id="<d@duban>", recipient="x")
        assert ledger.sent_keys([*keys, "other"]) == set(keys)
