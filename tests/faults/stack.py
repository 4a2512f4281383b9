"""The embedded stack in pieces the fault suite can break one at a time.

`duban dev` supervises everything as one unit; here each part is started on its
own so a test can kill -9 the worker, restart the Temporal dev server on the same
SQLite file, stop the SMTP sink and take the blob store away, then bring each back:

- the Temporal dev server (`temporal server start-dev`, SQLite in WAL mode, duban's
  search attributes), a subprocess;
- the worker (`duban worker`), a subprocess, restarted when it dies;
- the SMTP sink (aiosmtpd writing a Maildir), in this process, stoppable.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from schemas.visibility import SEARCH_ATTRIBUTES
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port, port_is_free
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings, SmtpSettings, TemporalSettings

READY_SECONDS = 60.0


@dataclass
class FaultStack:
    root: Path
    temporal_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    temporal: "subprocess.Popen[bytes] | None" = None
    worker: "subprocess.Popen[bytes] | None" = None
    sink: SmtpSink | None = None
    faults: list[str] = field(default_factory=list)
    worker_deaths: int = 0  # exits we did not cause (e.g. after a server restart)

    @property
    def data_dir(self) -> Path:
        return self.root / "var"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            temporal=TemporalSettings(address=self.address),
            smtp=SmtpSettings(host="127.0.0.1", port=self.smtp_port, timeout_seconds=10.0),
        )

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env.update(
            DUBAN_DATA_DIR=str(self.data_dir),
            DUBAN_TEMPORAL__ADDRESS=self.address,
            DUBAN_SMTP__HOST="127.0.0.1",
            DUBAN_SMTP__PORT=str(self.smtp_port),
            DUBAN_SMTP__TIMEOUT_SECONDS="10",
            DUBAN_LOG_JSON="true",
        )
        return env

    def _log(self, name: str) -> "object":
        (self.root / "log").mkdir(parents=True, exist_ok=True)
        return (self.root / "log" / f"{name}.log").open("ab")

    # ---- Temporal --------------------------------------------------------------------------

    def start_temporal(self) -> None:
        argv = [
            str(bundled_binary("temporal")), "server", "start-dev", "--headless",
            "--ip", "127.0.0.1", "--port", str(self.temporal_port),
            "--db-filename", str(self.data_dir / "temporal.db"),
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
        ]  # fmt: skip
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.temporal = subprocess.Popen(
            argv,
            stdout=self._log("temporal"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # type: ignore[arg-type]
        )
        deadline = time.monotonic() + READY_SECONDS
        while port_is_free("127.0.0.1", self.temporal_port):
            assert self.temporal.poll() is None, "the Temporal dev server exited at start"
            assert time.monotonic() < deadline, "the Temporal dev server did not listen in time"
            time.sleep(0.1)

    def kill_temporal(self) -> None:
        assert self.temporal is not None
        os.killpg(self.temporal.pid, signal.SIGKILL)
        self.temporal.wait(timeout=30)

    # ---- worker ----------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [str(bundled_binary("duban")), "worker"],
            stdout=self._log("worker"),  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )

    def kill_worker(self) -> None:
        assert self.worker is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=30)

    def keep_worker_alive(self) -> None:
        """What a supervisor does: a worker that exited on its own is started again (and counted)."""
        if self.worker is not None and self.worker.poll() is not None:
            self.worker_deaths += 1
            self.start_worker()

    # ---- SMTP sink -------------------------------------------------------------------------

    def start_sink(self) -> None:
        self.sink = SmtpSink("127.0.0.1", self.smtp_port, self.data_dir / "mail")
        self.sink.start()

    def stop_sink(self) -> None:
        assert self.sink is not None
        self.sink.stop()

    # ---- blob store ------------------------------------------------------------------------

    def blobs_unwritable(self) -> None:
        """Make every write to the blob store fail: chmod 0555, or — as root, whom chmod does not
        stop — put a plain file where the directory was (reads fail too then: a harsher fault)."""
        blobs = self.settings().blob_dir
        blobs.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            for d in [blobs, *(p for p in blobs.iterdir() if p.is_dir())]:
                d.chmod(0o555)
            return
        blobs.rename(blobs.with_name("blobs.away"))
        blobs.write_text("the blob store is unavailable (fault injection)")

    def blobs_writable(self) -> None:
        blobs = self.settings().blob_dir
        if os.geteuid() != 0:
            for d in [blobs, *(p for p in blobs.iterdir() if p.is_dir())]:
                d.chmod(0o755)
            return
        blobs.unlink()
        blobs.with_name("blobs.away").rename(blobs)

    # ---- teardown --------------------------------------------------------------------------

    def stop_all(self) -> None:
        for proc in (self.worker, self.temporal):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
        if self.sink is not None:
            self.sink.stop()
        away = self.settings().blob_dir.with_name("blobs.away")
        if away.exists():
            blobs = self.settings().blob_dir
            if blobs.is_file():
                blobs.unlink()
            shutil.move(str(away), str(blobs))
