"""`duban console` (and `duban worker`) as real subprocesses, started the way an operator starts them.

The security tests need the real process: uvicorn's own access log and proxy-header
handling, the start-up refusals and what a process prints when it refuses.
"""

import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from console.auth import hash_password
from workers.codec import generate_key_line
from workers.dev.ports import free_port

DUBAN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "duban")
START_SECONDS = 60.0


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The user's environment without their DUBAN_* variables, plus a data directory and JSON logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_DATA_DIR=str(data_dir), DUBAN_LOG_JSON="true")
    env.update(extra)
    return env


def run_command(args: list[str], env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a `duban` command to its end (a refused start must end by itself)."""
    return subprocess.run([DUBAN, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def production_env(data_dir: Path, **changes: str | None) -> dict[str, str]:
    """A production configuration that passes every check; `changes` replace (or, with None, remove) variables."""
    env = base_env(
        data_dir,
        DUBAN_ENVIRONMENT="production",
        DUBAN_SECRET_KEY=secrets.token_urlsafe(32),
        DUBAN_PAYLOAD_KEYS=generate_key_line("k1"),
        DUBAN_OPERATORS=json.dumps({"zhang": hash_password("correct horse battery", n=2**4)}),
        DUBAN_SMTP__STARTTLS="true",
        DUBAN_PUBLIC_URL="https://duban.example",
    )
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class ConsoleProcess:
    process: "subprocess.Popen[str]"
    url: str
    stderr_path: Path

    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def console_process(env: dict[str, str], log_dir: Path) -> Iterator[ConsoleProcess]:
    """`duban console` on a free port; yields once /healthz answers, stops it afterwards."""
    port = free_port()
    env = {**env, "DUBAN_CONSOLE_PORT": str(port), "DUBAN_CONSOLE_HOST": env.get("DUBAN_CONSOLE_HOST", "127.0.0.1")}
    env.setdefault("DUBAN_PUBLIC_URL", f"http://127.0.0.1:{port}")
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = log_dir / f"console-{port}.log"
    with stderr_path.open("w", encoding="utf-8") as err:
        process = subprocess.Popen([DUBAN, "console"], env=env, stdout=err, stderr=subprocess.STDOUT, text=True)
    running = ConsoleProcess(process, f"http://127.0.0.1:{port}", stderr_path)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"duban console exited with {process.returncode}:\n{running.log()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{running.url}/healthz", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"duban console did not answer within {START_SECONDS:.0f}s:\n{running.log()}")
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
