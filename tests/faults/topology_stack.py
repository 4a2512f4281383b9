"""The production topology on one machine: several `duban worker` and `duban console` processes on one
Temporal dev server, one PostgreSQL records database and one S3 bucket, each process with a data
directory of its own — nothing shared on disk, as on Kubernetes without a ReadWriteMany volume.

The dev server and the SMTP sink come from `FaultStack` (tests/faults/stack.py); PostgreSQL and
SeaweedFS from the session's fixtures (tests/postgres.py, tests/blobstores.py). Every process is
started the way an operator starts it, `.venv/bin/duban worker|console`, with DUBAN_* variables.
"""

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.faults.stack import FaultStack
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port

READY_SECONDS = 90.0


@dataclass
class Process:
    """One `duban` process: its role, its own data directory and the port it answers /healthz on."""

    name: str
    role: str  # "worker" | "console"
    data_dir: Path
    port: int
    popen: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def identity(self) -> str:
        """The Temporal identity the SDK gives this process's client: `<pid>@<host>`."""
        return f"{self.pid}@{os.uname().nodename}"

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a node failure would: no graceful shutdown at all."""
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)


@dataclass
class Topology:
    """Workers and consoles sharing only Temporal, the records database, the bucket and the SMTP relay."""

    root: Path
    records_url: str
    objects_env: dict[str, str]
    payload_keys: str
    secret_key: str
    operators: dict[str, str]
    base: FaultStack = field(init=False)
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = FaultStack(self.root)

    @property
    def maildir(self) -> Path:
        return self.base.data_dir / "mail"

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.role == "worker"]

    def consoles(self) -> list[Process]:
        return [p for p in self.processes if p.role == "console"]

    def env(self, process: Process) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        consoles = self.consoles()
        env.update(
            self.objects_env,
            DUBAN_DATA_DIR=str(process.data_dir),
            DUBAN_TEMPORAL__ADDRESS=self.base.address,
            DUBAN_SMTP__HOST="127.0.0.1",
            DUBAN_SMTP__PORT=str(self.base.smtp_port),
            DUBAN_RECORDS_URL=self.records_url,
            DUBAN_PAYLOAD_KEYS=self.payload_keys,
            DUBAN_SECRET_KEY=self.secret_key,
            DUBAN_OPERATORS=json.dumps(self.operators),
            # The limiter in the records database, as the k8s config sets it for every replica.
            DUBAN_ACCESS_STORE="records",
            # Links in the mail point at the first console (the ingress, in a real deployment).
            DUBAN_PUBLIC_URL=consoles[0].url if consoles else "http://127.0.0.1:9",
            DUBAN_LOG_JSON="true",
        )
        if process.role == "console":
            env.update(DUBAN_CONSOLE_PORT=str(process.port), DUBAN_PUBLIC_URL=process.url)
        else:
            env.update(DUBAN_HEALTH_PORT=str(process.port))
        return env

    def duban(self, *args: str) -> "subprocess.CompletedProcess[str]":
        """A one-off `duban` command with the deployment's settings (e.g. the migration Job's)."""
        scratch = Process("cli", "cli", self.root / "cli", 0)
        return subprocess.run(
            [str(bundled_binary("duban")), *args],
            capture_output=True, text=True, timeout=120, env=self.env(scratch), check=False,
        )  # fmt: skip

    def add(self, role: str, name: str) -> Process:
        process = Process(name, role, self.root / name / "var", free_port())
        self.processes.append(process)
        return process

    def start(self, process: Process) -> None:
        process.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.root / f"{process.name}.log").open("ab")
        process.popen = subprocess.Popen(
            [str(bundled_binary("duban")), process.role],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(process),
            start_new_session=True,
        )

    def wait_ready(self, processes: list[Process]) -> None:
        """Until every process answers /healthz with 200 (a worker: once it polls Temporal)."""
        deadline = time.monotonic() + READY_SECONDS
        waiting = list(processes)
        while waiting:
            for p in list(waiting):
                assert p.alive(), f"{p.name} exited with {p.popen.returncode if p.popen else '?'}: {self.log_tail(p)}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{p.url}/healthz", timeout=2.0).status_code == 200:
                        waiting.remove(p)
            assert time.monotonic() < deadline, f"not ready in {READY_SECONDS:.0f} s: {[p.name for p in waiting]}"
            time.sleep(0.3)

    def log_tail(self, process: Process) -> str:
        path = self.root / f"{process.name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop_all(self) -> None:
        for p in self.processes:
            if p.alive():
                p.kill()
        self.base.stop_all()
