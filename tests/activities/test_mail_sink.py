"""The dev SMTP sink as the supervisor runs it (the sent-ledger it pairs with: test_sent_ledger.py)."""

import asyncio
import contextlib
import email
import mailbox
import signal
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import aiosmtplib

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
