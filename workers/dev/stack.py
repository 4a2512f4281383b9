"""`duban dev`: the embedded stack in the foreground, supervised.

Starts, in order, the Temporal dev server (SQLite under the data directory, WAL
pragmas, duban's search attributes), the SMTP sink writing a Maildir, the
worker and — once it exists — the web console; waits until each answers,
prints the addresses, and on Ctrl-C/SIGTERM stops them in reverse order.

Children run in their own process groups so a terminal's Ctrl-C reaches only
this supervisor, which then stops the worker before the server it drains
against. Their pids are written to `<data_dir>/run/<name>.pid` for operators
and fault tests (kill -9 the worker: it comes back).
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TextIO

import httpx
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from schemas.visibility import SEARCH_ATTRIBUTES, SERVER_LIMITS
from workers.dev.binaries import MissingBinaryError, bundled_binary
from workers.dev.ports import free_port, port_holder, port_is_free
from workers.logging import get_logger
from workers.retrying import answered_within
from workers.settings import Settings

log = get_logger("duban.dev")


def server_limit_args() -> list[str]:
    """`temporal server start-dev` flags that set SERVER_LIMITS."""
    return [arg for key, value in SERVER_LIMITS.items() for arg in ("--dynamic-config-value", f"{key}={value}")]


# Exit codes, as every `duban` command uses them.
OK, FAILURE, BAD_ENVIRONMENT = 0, 1, 2

_STARTUP_SECONDS = 60.0
_STOP_GRACE_SECONDS = 10.0
_RESTART_BACKOFF_MAX = 30.0
# A child that stayed up this long had a real run; its next crash restarts without delay.
_STABLE_SECONDS = 60.0


class DevStackError(Exception):
    """The stack cannot start; the message says why and what to change."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Child:
    """One supervised subprocess and how to bring it back."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path | None = None
    restartable: bool = True
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def split_address(address: str) -> tuple[str, int]:
    """'127.0.0.1:7233' -> ('127.0.0.1', 7233), with a clear error for anything else."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise DevStackError(f"DUBAN_TEMPORAL__ADDRESS must be host:port, got {address!r}", BAD_ENVIRONMENT)
    if host == "localhost":
        host = "127.0.0.1"
    return host.strip("[]"), int(port)


def console_available() -> bool:
    """The web console is optional until `console/web/app.py` exists."""
    try:
        return find_spec("console.web.app") is not None
    except ModuleNotFoundError:
        return False


class DevStack:
    """The supervisor behind `duban dev`."""

    def __init__(self, settings: Settings, out: TextIO | None = None, as_json: bool = False) -> None:
        self.settings = settings
        self.out = out if out is not None else sys.stdout
        self.as_json = as_json
        self.data_dir = settings.data_dir.resolve()
        self.run_dir = self.data_dir / "run"
        self.log_dir = self.data_dir / "log"
        self.temporal_host, self.temporal_port = split_address(settings.temporal.address)
        self.with_console = console_available()
        self._stop = asyncio.Event()
        self._force = False
        self._children: dict[str, Child] = {}
        self._sink: Any = None
        self._pid_files: list[Path] = []

    # ---- entry point -------------------------------------------------

    async def run(self) -> int:
        """Start everything, supervise until a signal, stop everything; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        try:
            # Ports first: a refused start should leave no trace, not even an empty data directory.
            self._check_ports()
            self._prepare_data_dir()
            started = await self._race_stop(self._start_all())
            if not started:
                return OK
            self._announce_ready()
            return await self._supervise()
        except DevStackError as error:
            self._error(str(error))
            return error.exit_code
        finally:
            await self._stop_all()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        if self._stop.is_set():
            # A second Ctrl-C: the user does not want to wait for the grace period.
            self._force = True
            for child in self._children.values():
                if child.process is not None and child.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.process.kill()
        self._stop.set()

    async def _race_stop(self, work: Awaitable[None]) -> bool:
        """Run `work` unless a stop signal comes first; True if it finished."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, DevStackError):
            await task
        return False

    # ---- before anything starts ---------------------------------------

    def _prepare_data_dir(self) -> None:
        try:
            for directory in (self.data_dir, self.run_dir, self.log_dir, self.settings.mail_dir.resolve()):
                directory.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise DevStackError(
                f"data directory {self.data_dir} is not writable ({error.strerror or error}); "
                "set DUBAN_DATA_DIR to a directory you can write",
                BAD_ENVIRONMENT,
            ) from error
        other = _live_pid(self.run_dir / "dev.pid")
        if other is not None and other != os.getpid():
            raise DevStackError(
                f"another `duban dev` (pid {other}) is already using {self.data_dir}; stop it first",
                BAD_ENVIRONMENT,
            )
        self._write_pid("dev", os.getpid())
        # Create the development payload key once here, so worker and console never race to write it.
        from workers.codec import codec_from_settings

        codec_from_settings(self.settings)

    def _wanted_ports(self) -> list[tuple[str, str, int, str]]:
        s = self.settings
        wanted = [
            ("Temporal frontend", self.temporal_host, self.temporal_port, "DUBAN_TEMPORAL__ADDRESS"),
            ("Temporal UI", self.temporal_host, s.temporal.ui_port, "DUBAN_TEMPORAL__UI_PORT"),
            ("SMTP sink", s.smtp.host, s.smtp.port, "DUBAN_SMTP__PORT"),
        ]
        if self.with_console:
            wanted.append(("web console", s.console_host, s.console_port, "DUBAN_CONSOLE_PORT"))
        return wanted

    def _check_ports(self) -> None:
        problems: list[str] = []
        seen: dict[int, str] = {}
        for what, host, port, variable in self._wanted_ports():
            if port in seen:
                problems.append(
                    f"port {port} is configured for both the {seen[port]} and the {what}; change {variable}"
                )
                continue
            seen[port] = what
            if not port_is_free(host, port):
                holder = port_holder(port) or "another program"
                problems.append(f"port {port} ({what}) on {host} is in use by {holder}; stop it or set {variable}")
        if problems:
            raise DevStackError("\n".join(problems), BAD_ENVIRONMENT)

    # ---- starting -----------------------------------------------------

    async def _start_all(self) -> None:
        await self._start_temporal()
        await self._start_smtp_sink()
        await self._start_worker()
        if self.with_console:
            await self._start_console()

    def _temporal_argv(self) -> list[str]:
        try:
            temporal = bundled_binary("temporal")
        except MissingBinaryError as error:
            raise DevStackError(str(error), BAD_ENVIRONMENT) from error
        t = self.settings.temporal
        argv = [
            str(temporal), "server", "start-dev",
            "--ip", self.temporal_host,
            "--port", str(self.temporal_port),
            "--ui-port", str(t.ui_port),
            "--db-filename", str(self.data_dir / "temporal.db"),
            # WAL: ~3x the throughput of SQLite's default journal (temporal-notes.md).
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
        ]  # fmt: skip
        if t.namespace != "default":
            argv += ["--namespace", t.namespace]
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        return argv + server_limit_args()

    async def _start_temporal(self) -> None:
        child = Child("temporal", self._temporal_argv(), self._child_env(), self.log_dir / "temporal.log", False)
        await self._spawn(child)
        await self._wait_ready(child, self._temporal_ready, "the Temporal server to answer")

    async def _temporal_ready(self) -> bool:
        t = self.settings.temporal
        try:
            client = await asyncio.wait_for(Client.connect(t.address, namespace=t.namespace), timeout=3)
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=t.namespace)
            )
        except (RuntimeError, TimeoutError, OSError):
            return False
        missing = set(SEARCH_ATTRIBUTES) - set(response.custom_attributes)
        if missing:
            log.debug("search attributes not registered yet", missing=sorted(missing))
            return False
        return True

    async def _start_smtp_sink(self) -> None:
        from workers.dev.smtp_sink import SmtpSink

        s = self.settings.smtp
        self._sink = SmtpSink(s.host, s.port, self.settings.mail_dir.resolve())
        self._sink.start()
        if not await answered_within(lambda: _smtp_answers(s.host, s.port), every=0.1, within=_STARTUP_SECONDS):
            raise DevStackError(f"the SMTP sink did not answer on {s.host}:{s.port}")

    async def _start_worker(self) -> None:
        port = free_port()
        argv = [*self._duban(), "worker", "--health-host", "127.0.0.1", "--health-port", str(port)]
        env = self._child_env()
        # The worker's graceful shutdown must end before we stop waiting for it (then kill -9,
        # which is the one way left to send a message twice); the local sink is fast.
        grace = min(self.settings.temporal.graceful_shutdown_seconds, _STOP_GRACE_SECONDS / 2)
        env["DUBAN_TEMPORAL__GRACEFUL_SHUTDOWN_SECONDS"] = str(grace)
        child = Child("worker", argv, env, extra={"health": f"http://127.0.0.1:{port}/healthz"})
        await self._spawn(child)
        await self._wait_ready(child, lambda: _http_ok(child.extra["health"]), "the worker to poll Temporal")

    async def _start_console(self) -> None:
        s = self.settings
        url = f"http://{s.console_host}:{s.console_port}/"
        child = Child("console", [*self._duban(), "console"], self._child_env(), extra={"url": url})
        await self._spawn(child)
        await self._wait_ready(child, lambda: _http_answers(url), "the web console to answer")

    def _duban(self) -> list[str]:
        try:
            return [str(bundled_binary("duban"))]
        except MissingBinaryError as error:
            raise DevStackError(str(error), BAD_ENVIRONMENT) from error

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Children may not share our idea of the working directory; give them the resolved one.
        env["DUBAN_DATA_DIR"] = str(self.data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def _spawn(self, child: Child) -> None:
        stdout: Any = None
        if child.log_file is not None:
            stdout = child.log_file.open("ab")
        try:
            child.process = await asyncio.create_subprocess_exec(
                *child.argv,
                env=child.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=asyncio.subprocess.STDOUT if stdout is not None else None,
                process_group=0,
            )
        finally:
            if stdout is not None:
                stdout.close()
        child.started_at = time.monotonic()
        self._children[child.name] = child
        self._write_pid(child.name, child.process.pid)
        log.debug("started", child=child.name, pid=child.process.pid)

    def _write_pid(self, name: str, pid: int) -> None:
        pid_file = self.run_dir / f"{name}.pid"
        pid_file.write_text(f"{pid}\n")
        if pid_file not in self._pid_files:
            self._pid_files.append(pid_file)

    async def _wait_ready(self, child: Child, probe: Callable[[], Awaitable[bool]], what: str) -> None:
        process = child.process
        assert process is not None

        async def ready() -> bool:
            # A child that exited will never answer: say so now instead of waiting out the minute.
            if process.returncode is not None:
                raise DevStackError(
                    f"{child.name} exited with code {process.returncode} while starting{self._log_hint(child)}"
                )
            return await probe()

        if not await answered_within(ready, every=0.2, within=_STARTUP_SECONDS):
            raise DevStackError(f"gave up waiting {_STARTUP_SECONDS:.0f}s for {what}{self._log_hint(child)}")

    def _log_hint(self, child: Child) -> str:
        if child.log_file is None or not child.log_file.exists():
            return " (its output is above)"
        tail = child.log_file.read_text(errors="replace").splitlines()[-15:]
        return f"; last lines of {child.log_file}:\n" + "\n".join(tail)

    # ---- running ------------------------------------------------------

    def addresses(self) -> dict[str, Any]:
        s = self.settings
        found: dict[str, Any] = {
            "temporal": f"{self.temporal_host}:{self.temporal_port}",
            "namespace": s.temporal.namespace,
            "task_queue": s.temporal.task_queue,
            "temporal_ui": f"http://{self.temporal_host}:{s.temporal.ui_port}",
            "smtp": f"{s.smtp.host}:{s.smtp.port}",
            "maildir": str(s.mail_dir.resolve()),
            "data_dir": str(self.data_dir),
            "console": f"http://{s.console_host}:{s.console_port}" if self.with_console else None,
            "pids": {name: c.process.pid for name, c in self._children.items() if c.process is not None},
        }
        return found

    def _announce_ready(self) -> None:
        a = self.addresses()
        if self.as_json:
            self._print(json.dumps({"event": "ready", **a}, ensure_ascii=False))
            return
        lines = [
            "duban dev: ready",
            f"  Temporal     {a['temporal']}  (namespace {a['namespace']}, task queue {a['task_queue']})",
            f"  Temporal UI  {a['temporal_ui']}",
            f"  SMTP sink    {a['smtp']}  -> Maildir {a['maildir']}",
            f"  Console      {a['console'] or '(not built yet: console/web/app.py is missing)'}",
            f"  Data         {a['data_dir']}  (temporal.db, mail/, blobs/, log/, run/*.pid)",
            "Press Ctrl-C to stop.",
        ]
        self._print("\n".join(lines))

    async def _supervise(self) -> int:
        """Wait for a signal; bring back a crashed worker or console; give up if Temporal dies."""
        while not self._stop.is_set():
            exits = {
                asyncio.ensure_future(c.process.wait()): c
                for c in self._children.values()
                if c.process is not None and c.process.returncode is None
            }
            stopper = asyncio.ensure_future(self._stop.wait())
            done, _ = await asyncio.wait({stopper, *exits}, return_when=asyncio.FIRST_COMPLETED)
            for pending in (stopper, *exits):
                pending.cancel()
            if self._stop.is_set():
                break
            for finished in done:
                child = exits.get(finished)
                if child is None:
                    continue
                code = child.process.returncode if child.process else None
                if not child.restartable:
                    self._error(f"{child.name} exited unexpectedly with code {code}{self._log_hint(child)}")
                    return FAILURE
                await self._restart(child, code)
        return OK

    async def _restart(self, child: Child, code: int | None) -> None:
        ran = time.monotonic() - child.started_at
        if ran >= _STABLE_SECONDS:
            child.backoff = 1.0
        delay = child.backoff
        child.backoff = min(child.backoff * 2, _RESTART_BACKOFF_MAX)
        child.restarts += 1
        self._event("restarting", child=child.name, exit_code=code, delay_seconds=delay, restarts=child.restarts)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        if self._stop.is_set():
            return
        await self._spawn(child)
        self._event("restarted", child=child.name, pid=child.process.pid if child.process else None)

    # ---- stopping -----------------------------------------------------

    async def _stop_all(self) -> None:
        # The worker first, so it finishes its tasks against a live server; the server last.
        for name in ("worker", "console"):
            child = self._children.get(name)
            if child is not None:
                await self._terminate(child)
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
        temporal = self._children.get("temporal")
        if temporal is not None:
            await self._terminate(temporal)
        # Only our own pid files: a refused start must not delete those of a running stack.
        for pid_file in self._pid_files:
            with contextlib.suppress(OSError):
                pid_file.unlink()
        self._pid_files.clear()
        if self._children:
            self._event("stopped")
        self._children.clear()

    async def _terminate(self, child: Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=0 if self._force else _STOP_GRACE_SECONDS)
        except TimeoutError:
            self._event("killing", child=child.name, reason=f"still running after {_STOP_GRACE_SECONDS:.0f}s")
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    # ---- output -------------------------------------------------------

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _event(self, event: str, **fields: Any) -> None:
        if self.as_json:
            self._print(json.dumps({"event": event, **fields}, ensure_ascii=False))
        else:
            detail = ", ".join(f"{k}={v}" for k, v in fields.items())
            self._print(f"duban dev: {event}" + (f" ({detail})" if detail else ""))

    def _error(self, message: str) -> None:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()


async def run_dev(settings: Settings, out: TextIO | None = None, as_json: bool = False) -> int:
    """Run the embedded stack until stopped; returns the process exit code."""
    return await DevStack(settings, out, as_json).run()


def _live_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


async def _smtp_answers(host: str, port: int) -> bool:
    """True once something on host:port greets like an SMTP server (a 220 banner)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, TimeoutError):
        return False
    try:
        banner = await asyncio.wait_for(reader.readline(), timeout=2)
        return banner.startswith(b"220")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.write(b"QUIT\r\n")
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _http_ok(url: str) -> bool:
    return await _http_status(url) == 200


async def _http_answers(url: str) -> bool:
    status = await _http_status(url)
    return status is not None and status < 500


async def _http_status(url: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            response = await http.get(url)
    except httpx.HTTPError:
        return None
    return response.status_code
