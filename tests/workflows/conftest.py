"""Workflow-test fixtures: a real SMTP sink and a worker factory bound to test settings."""

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import build_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink("127.0.0.1", free_port(), tmp_path / "mail")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cycle_settings(settings: Settings, sink: SmtpSink, task_queue: str) -> Settings:
    return settings.model_copy(
        update={
            "smtp": SmtpSettings(host=sink.host, port=sink.port),
            # No sticky cache: every workflow task replays the whole history (a determinism check on
            # every test), and a restarted worker picks the cycle up at once on the test server,
            # which does not hand a dead worker's sticky queue back to the normal queue.
            "temporal": TemporalSettings(task_queue=task_queue, max_cached_workflows=0),
        }
    )


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """The production worker (real activities, real sandbox) on the test's task queue."""
    worker = build_worker(client, settings)
    async with worker:
        yield worker
