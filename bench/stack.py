"""The embedded stack the benchmark runs on: dev server, SMTP sink and worker, each its own process.

The Temporal dev server is the venv's `temporal` binary with a file SQLite in
WAL mode (as `duban dev` starts it); the sink is `bench.sink` (aiosmtpd); the
worker is `bench.worker` (the production `build_worker`, or the naive
baseline). Everything lives in one temporary directory.
"""

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import SecretStr
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from bench import procinfo
from schemas.visibility import SEARCH_ATTRIBUTES, VALUE_LIMIT
from workers.codec import generate_key_line
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port
from workers.retrying import answered_within
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.temporal import connect

STARTUP_SECONDS = 60.0


@dataclass
class Tuning:
    """Worker tuning (the settings `duban worker` reads); the defaults are the production defaults."""

    max_cached_workflows: int = 1000
    max_concurrent_workflow_tasks: int = 100
    max_concurrent_activities: int = 50


# The server's limit on one search attribute value: duban's (schemas/visibility.py), so that cycles of
# 1,000 units can be measured; `--sa-value-limit 2048` restores Temporal's default (bench/README.md).
SA_VALUE_LIMIT = VALUE_LIMIT


@dataclass(frozen=True)
class Arrival:
    at: float  # wall-clock seconds (time.time()) when the sink accepted the message
    scope: str
    template: str
    message_id: str


@dataclass
class ArrivalLog:
    """Reads the sink's arrival log incrementally."""

    path: Path
    offset: int = 0
    seen: list[Arrival] = field(default_factory=list)

    def poll(self) -> list[Arrival]:
        if not self.path.exists():
            return self.seen
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for line in chunk[:end].decode("utf-8", errors="replace").splitlines():
            at, scope, template, mid = line.split("\t")
            self.seen.append(Arrival(float(at), scope, template, mid))
        return self.seen

    def matching(self, prefix: str, templates: Collection[str] | None = None) -> list[Arrival]:
        return [a for a in self.poll() if _matches(a, prefix, templates)]

    async def wait_for(
        self, prefix: str, count: int, templates: Collection[str] | None, within: float
    ) -> list[Arrival]:
        """Arrivals under `prefix` once `count` have come (or whatever came before `within` seconds passed)."""
        deadline = time.monotonic() + within
        got = self.matching(prefix, templates)
        checked = len(self.seen)
        while len(got) < count and time.monotonic() <= deadline:
            await asyncio.sleep(0.05)
            # Only the new lines: rescanning every arrival 20 times a second would take CPU from the stack.
            self.poll()
            got += [a for a in self.seen[checked:] if _matches(a, prefix, templates)]
            checked = len(self.seen)
        return got


def _drain(stream: IO[bytes], log: Path) -> None:
    with log.open("ab") as out:
        for line in stream:
            out.write(line)


def _matches(a: Arrival, prefix: str, templates: Collection[str] | None) -> bool:
    return a.scope.startswith(prefix) and (templates is None or a.template in templates)


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _smtp_answers(host: str, port: int) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, TimeoutError):
        return False
    try:
        return (await asyncio.wait_for(reader.readline(), timeout=2)).startswith(b"220")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()


class Stack:
    """Server + sink running for the whole invocation; workers come and go per phase."""

    def __init__(
        self,
        root: Path,
        tuning: Tuning | None = None,
        sa_value_limit: int = SA_VALUE_LIMIT,
        server_args: Sequence[str] = (),
    ) -> None:
        self.root = root
        self.server_args = list(server_args)  # more `temporal server start-dev` flags
        self.sa_value_limit = sa_value_limit
        self.tuning = tuning or Tuning()
        self.db = root / "temporal.db"
        self.logs = root / "log"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.smtp_port = free_port()
        self.settings = Settings(
            data_dir=root / "var",
            payload_keys=SecretStr(generate_key_line("bench-1")),
            log_level="WARNING",
            log_json=True,
            smtp=SmtpSettings(host="127.0.0.1", port=self.smtp_port),
            temporal=TemporalSettings(
                address=f"127.0.0.1:{self.port}",
                task_queue="bench",
                max_cached_workflows=self.tuning.max_cached_workflows,
                max_concurrent_workflow_tasks=self.tuning.max_concurrent_workflow_tasks,
                max_concurrent_activities=self.tuning.max_concurrent_activities,
            ),
        )
        self.arrivals = ArrivalLog(root / "arrivals.tsv")
        self.server: subprocess.Popen[bytes] | None = None
        self.sink: subprocess.Popen[bytes] | None = None
        self.client: Client | None = None

    # ---- server and sink ------------------------------------------------

    async def start(self) -> Client:
        temporal = str(bundled_binary("temporal"))
        total_limit = max(4 * self.sa_value_limit, 40 * 1024)  # never below Temporal's default total
        argv = [
            temporal, "server", "start-dev", "--headless",
            "--ip", "127.0.0.1", "--port", str(self.port),
            "--db-filename", str(self.db),
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
            "--dynamic-config-value", f"frontend.searchAttributesSizeOfValueLimit={self.sa_value_limit}",
            "--dynamic-config-value", f"frontend.searchAttributesTotalSizeLimit={total_limit}",
            *self.server_args,
        ]  # fmt: skip
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        self.server = _spawn(argv, self._env(), self.logs / "temporal.log")
        self.sink = self.start_sink(self.smtp_port, self.arrivals.path)
        if not await answered_within(self._temporal_ready, every=0.2, within=STARTUP_SECONDS):
            raise RuntimeError(f"the Temporal dev server did not start; see {self.logs / 'temporal.log'}")
        await self.wait_smtp(self.smtp_port)
        self.client = await connect(self.settings)
        return self.client

    def start_sink(self, port: int, log: Path, maildir: Path | None = None) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "bench.sink", "--port", str(port), "--log", str(log)]
        if maildir is not None:
            argv += ["--maildir", str(maildir)]
        return _spawn(argv, self._env(), self.logs / f"sink-{port}.log")

    async def wait_smtp(self, port: int) -> None:
        if not await answered_within(lambda: _smtp_answers("127.0.0.1", port), every=0.1, within=STARTUP_SECONDS):
            raise RuntimeError(f"the SMTP sink on port {port} did not answer")

    async def _temporal_ready(self) -> bool:
        if self.server is not None and self.server.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited; see {self.logs / 'temporal.log'}")
        try:
            client = await asyncio.wait_for(Client.connect(self.settings.temporal.address), timeout=3)
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace="default")
            )
        except (RuntimeError, TimeoutError, OSError):
            return False
        return set(SEARCH_ATTRIBUTES) <= set(response.custom_attributes)

    def stop(self) -> None:
        for proc in (self.sink, self.server):
            if proc is not None:
                _stop(proc)

    # ---- workers ----------------------------------------------------------

    def _env(self, smtp_port: int | None = None, records_url: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        s = self.settings
        t = s.temporal
        assert s.payload_keys is not None
        env.update(
            {
                "DUBAN_DATA_DIR": str(s.data_dir),
                "DUBAN_PAYLOAD_KEYS": s.payload_keys.get_secret_value(),
                "DUBAN_LOG_LEVEL": s.log_level,
                "DUBAN_LOG_JSON": "true",
                "DUBAN_SMTP__HOST": s.smtp.host,
                "DUBAN_SMTP__PORT": str(smtp_port or s.smtp.port),
                "DUBAN_TEMPORAL__ADDRESS": t.address,
                "DUBAN_TEMPORAL__TASK_QUEUE": t.task_queue,
                "DUBAN_TEMPORAL__MAX_CACHED_WORKFLOWS": str(t.max_cached_workflows),
                "DUBAN_TEMPORAL__MAX_CONCURRENT_WORKFLOW_TASKS": str(t.max_concurrent_workflow_tasks),
                "DUBAN_TEMPORAL__MAX_CONCURRENT_ACTIVITIES": str(t.max_concurrent_activities),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if records_url is not None:  # else the data directory's records.db, shared by every worker here
            env["DUBAN_RECORDS_URL"] = records_url
        return env

    @asynccontextmanager
    async def worker(
        self, mode: str, smtp_port: int | None = None, records_url: str | None = None
    ) -> AsyncIterator["WorkerProc"]:
        """A fresh worker process for one phase; stopped (and its figures read) on exit."""
        log = self.logs / f"worker-{mode}-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "bench.worker", mode]
        proc = subprocess.Popen(  # noqa: ASYNC220 -- starting a process does not block; it is not waited on here
            argv,
            env=self._env(smtp_port, records_url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=STARTUP_SECONDS)
        if line.strip() != b"ready":
            _stop(proc)
            raise RuntimeError(f"the {mode} worker did not start; see {log}")
        # Keep reading: once the 64 KB pipe is full, the SDK core's thread that writes its log lines
        # to stdout blocks, and with it every workflow task (seen: the worker stopped polling).
        threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
        handle = WorkerProc(proc)
        try:
            yield handle
        finally:
            handle.finish()
            _stop(proc)

    # ---- costs ------------------------------------------------------------

    def sqlite_bytes(self) -> int:
        """Bytes of the server's SQLite file in use (pages minus free pages, committed WAL content included)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)) as db:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size)

    def server_cpu(self) -> float:
        return procinfo.cpu_seconds(self.server.pid) if self.server else 0.0

    def server_peak_mb(self) -> float:
        return procinfo.peak_rss_mb(self.server.pid) if self.server else 0.0


class WorkerProc:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.peak_mb = 0.0
        self.cpu = 0.0

    def finish(self) -> None:
        """Read the figures while the process still exists."""
        self.peak_mb = procinfo.peak_rss_mb(self.proc.pid)
        self.cpu = procinfo.cpu_seconds(self.proc.pid)
