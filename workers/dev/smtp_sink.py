"""The dev SMTP sink: an aiosmtpd server that files every message it receives into a Maildir.

`duban dev` runs it on 127.0.0.1:1025 writing `var/mail/`; tests start one on a
free port. Nothing is relayed anywhere. For exercising bounce handling it can
refuse (550) or defer (450) chosen recipients.

    python -m workers.dev.smtp_sink --host 127.0.0.1 --port 1025 --maildir var/mail
"""

import argparse
import asyncio
import contextlib
import email
import mailbox
import signal
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from schemas.notify import ENVELOPE_HEADER


class MaildirHandler:
    """aiosmtpd handler: accept, refuse or defer each RCPT; store each message as one Maildir file."""

    def __init__(self, maildir: Path, refuse: Iterable[str] = (), defer: Iterable[str] = ()) -> None:
        self.maildir_path = maildir
        maildir.parent.mkdir(parents=True, exist_ok=True)
        # create=True makes the cur/new/tmp triple (only when the directory does not exist yet).
        self.maildir = mailbox.Maildir(maildir, create=True)
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(exist_ok=True)
        self.refuse = {a.lower() for a in refuse}
        self.defer = {a.lower() for a in defer}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address.lower() in self.defer:
            return "450 4.2.1 mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        # Stored with LF line ends: mailbox converts "\n" to the OS line separator, CRLF would double up.
        data = data.replace(b"\r\n", b"\n")
        header = f"{ENVELOPE_HEADER}: {', '.join(envelope.rcpt_tos)}\n".encode()
        self.maildir.add(header + data)
        return "250 Message accepted for delivery"


class SmtpSink:
    """The sink in a background thread (aiosmtpd's Controller): `start()`, `stop()`, restartable."""

    def __init__(
        self,
        host: str,
        port: int,
        maildir: Path,
        *,
        refuse: Iterable[str] = (),
        defer: Iterable[str] = (),
        **smtp_options: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.maildir = maildir
        self.handler = MaildirHandler(maildir, refuse=refuse, defer=defer)
        self.smtp_options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(self.handler, hostname=self.host, port=self.port, **self.smtp_options)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[EmailMessage]:
        """Every stored message parsed with the modern email policy (headers decoded), oldest first."""
        box = mailbox.Maildir(self.maildir, create=False)
        keys = sorted(box.iterkeys(), key=lambda key: (box.get_message(key).get_date(), key))
        parsed = (email.message_from_bytes(box.get_bytes(key), policy=default_policy) for key in keys)
        return [m for m in parsed if isinstance(m, EmailMessage)]


async def serve_sink(host: str, port: int, maildir: Path) -> None:
    """Serve in the running event loop until cancelled (the supervisor's way to run it)."""
    handler = MaildirHandler(maildir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), host=host, port=port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Dev SMTP sink: store every message in a Maildir.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)

    async def run() -> None:
        task = asyncio.ensure_future(serve_sink(args.host, args.port, args.maildir))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
