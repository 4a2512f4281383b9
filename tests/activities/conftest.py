"""Fixtures for the activity tests: a real aiosmtpd sink on a free port, writing a temporary Maildir."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.blobs import BlobStore
from activities.mail import MailActivities
from activities.portal_tokens import PortalTokens
from activities.sent_ledger import SentLedger
from tests.activities.mail_helpers import DEFERRED_ADDRESS, REFUSED_ADDRESS
from tests.blobstores import local_store
from workers.dev.smtp_sink import SmtpSink
from workers.settings import SmtpSettings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A running sink that refuses (550) one address and defers (450) another."""
    server = SmtpSink("127.0.0.1", free_port(), tmp_path / "mail", refuse=[REFUSED_ADDRESS], defer=[DEFERRED_ADDRESS])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ledger(tmp_path: Path) -> SentLedger:
    return SentLedger(tmp_path / "sent-ledger.sqlite")


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return local_store(tmp_path / "blobs")


@pytest.fixture
def links() -> PortalTokens:
    return PortalTokens("test-secret", "http://127.0.0.1:8000")


@pytest.fixture
def webhook_sink(tmp_path: Path) -> Path:
    return tmp_path / "webhooks"


@pytest.fixture
def mailer(
    sink: SmtpSink, ledger: SentLedger, blobs: BlobStore, links: PortalTokens, webhook_sink: Path
) -> MailActivities:
    smtp = SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=5.0)
    hooks = {"leaders-wecom": "sink://wecom/leaders", "leaders-ding": "dingtalk:sink://leaders"}
    return MailActivities(smtp, ledger, blobs, links, webhooks=hooks, webhook_sink_dir=webhook_sink)
