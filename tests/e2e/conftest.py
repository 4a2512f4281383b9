"""The real embedded stack as subprocesses, the way a user starts it: `.venv/bin/duban dev`.

Every stack gets a temporary data directory and free ports, passed the way a
user would (DUBAN_* variables), and is started with `--json` so the harness
reads the ready line (every address, every child pid) instead of guessing.

Fixtures:
- `stack_config`: data directory, ports and environment for one test's stack.
- `launch_stack`: call it to start (or restart, same data and ports) a stack;
  returns a `RunningStack` once it printed its ready line. Teardown stops
  anything still running and kills leftovers.
- `stack`: one running stack shared by the whole session, for tests that only
  need the stack up (start campaigns, submit, read mail).
"""

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port, port_is_free
from workers.settings import Settings
from workers.temporal import connect

READY_SECONDS = 90.0
STOP_SECONDS = 60.0


@dataclass
class StackConfig:
    """Where one stack keeps its data and which ports it listens on."""

    data_dir: Path
    temporal_port: int
    ui_port: int
    smtp_port: int
    console_port: int
    log_dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def ports(self) -> dict[str, int]:
        return {
            "temporal": self.temporal_port,
            "temporal_ui": self.ui_port,
            "smtp": self.smtp_port,
            "console": self.console_port,
        }

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mail"

    def env(self) -> dict[str, str]:
        """The environment for `duban` subprocesses: the user's, minus their DUBAN_*, plus ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env.update(
            DUBAN_DATA_DIR=str(self.data_dir),
            DUBAN_TEMPORAL__ADDRESS=self.address,
            DUBAN_TEMPORAL__UI_PORT=str(self.ui_port),
            DUBAN_SMTP__PORT=str(self.smtp_port),
            DUBAN_CONSOLE_PORT=str(self.console_port),
            DUBAN_PUBLIC_URL=f"http://127.0.0.1:{self.console_port}",
            DUBAN_LOG_JSON="true",
        )
        return env

    def settings(self) -> Settings:
        """Settings as the stack's own processes build them (for `connect` and activity code)."""
        return Settings(
            data_dir=self.data_dir,
            temporal={"address": self.address, "ui_port": self.ui_port},
            smtp={"port": self.smtp_port},
            console_port=self.console_port,
            public_url=f"http://127.0.0.1:{self.console_port}",
        )


def new_stack_config(root: Path) -> StackConfig:
    """Fresh directory and four distinct free ports (none of them the defaults a developer may be using)."""
    ports: set[int] = set()
    while len(ports) < 4:
        ports.add(free_port())
    temporal, ui, smtp, console = sorted(ports)
    root.mkdir(parents=True, exist_ok=True)
    return StackConfig(root / "var", temporal, ui, smtp, console, root)


@dataclass
class RunningStack:
    """One `duban dev` process and what it printed."""

    config: StackConfig
    process: "subprocess.Popen[str]"
    stderr_path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    _lines: "queue.Queue[str | None]" = field(default_factory=queue.Queue)
    ready: dict[str, Any] = field(default_factory=dict)

    # ---- reading what the supervisor says -------------------------------

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_event(self, name: str, timeout: float = READY_SECONDS, after: int = 0) -> dict[str, Any]:
        """The first JSON event called `name` (from index `after` on), waiting for it if needed."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if event.get("event") == name:
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name!r} event within {timeout:.0f}s\n{self.diagnostics()}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self._lines.put(None)  # keep the end marker for later callers
                if not any(e.get("event") == name for e in self.events[after:]):
                    self.process.wait(timeout=10)
                    raise AssertionError(
                        f"duban dev exited ({self.process.returncode}) before {name!r}\n{self.diagnostics()}"
                    )
                continue
            self.output.append(line)
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    self.events.append(json.loads(line))

    def diagnostics(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        temporal_log = self.config.data_dir / "log" / "temporal.log"
        tail = temporal_log.read_text(errors="replace")[-3000:] if temporal_log.exists() else ""
        return (
            "--- stdout ---\n" + "\n".join(self.output[-50:]) + "\n--- stderr (tail) ---\n" + stderr[-6000:]
            + "\n--- temporal.log (tail) ---\n" + tail
        )  # fmt: skip

    # ---- inspecting the running stack ----------------------------------

    def pid(self, name: str) -> int:
        """The current pid of a child (`temporal`, `worker`, `console`) from the supervisor's pid file."""
        return int((self.config.data_dir / "run" / f"{name}.pid").read_text().strip())

    def child_pids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for pid_file in (self.config.data_dir / "run").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                found[pid_file.stem] = int(pid_file.read_text().strip())
        found.pop("dev", None)
        return found

    def temporal(self, *args: str, check: bool = True) -> "subprocess.CompletedProcess[str]":
        """Run the venv's `temporal` CLI against this stack."""
        argv = [str(bundled_binary("temporal")), *args, "--address", self.config.address]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def duban(self, *args: str, input_text: str | None = None) -> "subprocess.CompletedProcess[str]":
        """Run `.venv/bin/duban` with this stack's settings (exit code is for the caller to check)."""
        argv = [str(bundled_binary("duban")), *args]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=120, env=self.config.env(), input=input_text, check=False
        )

    async def client(self) -> Client:
        """A client like the stack's own (pydantic converter, the stack's payload key)."""
        return await connect(self.config.settings())

    # ---- stopping -------------------------------------------------------

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = STOP_SECONDS) -> int:
        """Send `sig` to the supervisor (as Ctrl-C would) and wait; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.wait_event_end()

    def wait_event_end(self) -> None:
        """Drain stdout into `events` after the process ended."""
        with contextlib.suppress(AssertionError):
            self.wait_event("\0never", timeout=5)

    def kill_everything(self) -> None:
        """Last resort for teardown: kill the supervisor and any child it left behind."""
        pids = self.child_pids()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in pids.values():
            # Each child leads its own process group (the supervisor starts them so).
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def start_stack(config: StackConfig, *extra_args: str) -> RunningStack:
    """Start `duban dev --json` and wait for its ready line."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = config.log_dir / f"duban-dev-{time.monotonic_ns()}.stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(bundled_binary("duban")), "dev", "--json", *extra_args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=config.env(),
            start_new_session=True,
        )
    running = RunningStack(config, process, stderr_path)
    threading.Thread(target=running._pump, name="duban-dev-stdout", daemon=True).start()
    try:
        running.ready = running.wait_event("ready")
    except BaseException:
        running.kill_everything()
        raise
    return running


def wait_ports_free(ports: dict[str, int], timeout: float = 15.0) -> dict[str, int]:
    """Ports still taken after `timeout` (empty when all were released)."""
    deadline = time.monotonic() + timeout
    while True:
        taken = {name: port for name, port in ports.items() if not port_is_free("127.0.0.1", port)}
        if not taken or time.monotonic() > deadline:
            return taken
        time.sleep(0.2)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited for every purpose that matters here.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


@pytest.fixture
def stack_config(tmp_path: Path) -> StackConfig:
    return new_stack_config(tmp_path / "stack")


@pytest.fixture
def launch_stack(stack_config: StackConfig) -> Iterator[Callable[..., RunningStack]]:
    """`launch_stack()` starts a stack on this test's data directory; call again after `.stop()` to restart."""
    started: list[RunningStack] = []

    def launch(*extra_args: str) -> RunningStack:
        running = start_stack(stack_config, *extra_args)
        started.append(running)
        return running

    yield launch
    for running in started:
        if running.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.stop(timeout=STOP_SECONDS)
        running.kill_everything()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for the whole session; tests must not stop it (use `launch_stack` for that)."""
    running = start_stack(new_stack_config(tmp_path_factory.mktemp("shared-stack")))
    yield running
    with contextlib.suppress(subprocess.TimeoutExpired):
        running.stop(timeout=STOP_SECONDS)
    running.kill_everything()
