"""The SMTP sink the benchmark measures against: the real aiosmtpd server in its own process.

Every accepted message appends one line to an arrival log — acceptance time,
X-Duban-Scope, X-Duban-Template, Message-ID — so the driver can tell when every
notice of a run has been accepted and how late each one was. In `maildir` mode
the message is first filed by the dev stack's own `MaildirHandler` (the cost of
writing each message to disk), in `count` mode it is only logged.

    python -m bench.sink --port 2525 --log arrivals.tsv [--maildir DIR]
"""

import argparse
import asyncio
import re
import signal
import time
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.smtp import SMTP, Envelope, Session

from workers.dev.smtp_sink import MaildirHandler

_HEADER = re.compile(rb"^(Message-ID|X-Duban-Scope|X-Duban-Template): *(.*?)\r?$", re.MULTILINE | re.IGNORECASE)


def _headers(data: bytes) -> dict[str, str]:
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    return {m.group(1).decode().lower(): m.group(2).decode(errors="replace") for m in _HEADER.finditer(head)}


class ArrivalLog:
    """aiosmtpd handler: accept every recipient, log each message's arrival (and optionally store it)."""

    def __init__(self, out: TextIO, maildir: Path | None = None) -> None:
        self.out = out
        self.store = MaildirHandler(maildir) if maildir is not None else None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        if self.store is not None:
            await self.store.handle_DATA(server, session, envelope)
        h = _headers(data)
        scope, template, mid = h.get("x-duban-scope", ""), h.get("x-duban-template", ""), h.get("message-id", "")
        self.out.write(f"{time.time():.6f}\t{scope}\t{template}\t{mid}\n")
        self.out.flush()
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, log: Path, maildir: Path | None) -> None:
    with log.open("a", encoding="utf-8") as out:
        handler = ArrivalLog(out, maildir)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, data_size_limit=None), host=host, port=port)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark SMTP sink: log every accepted message's arrival.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--maildir", type=Path, default=None)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.log, args.maildir))


if __name__ == "__main__":
    main()
