"""`duban dev` as a user runs it: addresses, search attributes, persistence, supervision, clean stops."""

import asyncio
import json
import os
import signal
import smtplib
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from schemas.visibility import SEARCH_ATTRIBUTES
from tests.e2e.conftest import RunningStack, StackConfig, pid_alive, wait_ports_free
from workers.dev.binaries import bundled_binary

pytestmark = pytest.mark.e2e

Launch = Callable[..., RunningStack]

_CLI_TYPES = {
    "Keyword": "INDEXED_VALUE_TYPE_KEYWORD",
    "KeywordList": "INDEXED_VALUE_TYPE_KEYWORD_LIST",
    "Int": "INDEXED_VALUE_TYPE_INT",
    "Datetime": "INDEXED_VALUE_TYPE_DATETIME",
}


def _run_dev(config: StackConfig, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bundled_binary("duban")), "dev"],
        capture_output=True,
        text=True,
        env=config.env(),
        timeout=timeout,
        check=False,
    )


def _assert_stopped_cleanly(running: RunningStack, pids: dict[str, int]) -> None:
    taken = wait_ports_free(running.config.ports)
    assert not taken, f"ports still in use after stop: {taken}"
    alive = {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not alive, f"children still running after stop: {alive}"
    assert not list((running.config.data_dir / "run").glob("*.pid")), "pid files left behind"


def port_free_all(config: StackConfig) -> bool:
    return not wait_ports_free(config.ports, timeout=0)


class TestRefusedStarts:
    def test_taken_port_is_named_and_nothing_starts(self, stack_config: StackConfig) -> None:
        """A port in use gives exit 2, names the port, the part and the variable, and creates nothing."""
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", stack_config.smtp_port))
            squatter.listen()
            result = _run_dev(stack_config)
        assert result.returncode == 2, result.stderr
        assert f"port {stack_config.smtp_port} (SMTP sink)" in result.stderr
        assert "DUBAN_SMTP__PORT" in result.stderr
        assert f"pid {os.getpid()}" in result.stderr  # who holds it
        assert not stack_config.data_dir.exists()
        assert port_free_all(stack_config)

    def test_unwritable_data_dir_is_refused(self, stack_config: StackConfig, tmp_path: Path) -> None:
        """A data directory that cannot be created gives exit 2 and says which variable to change."""
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where a directory should be")
        stack_config.data_dir = blocker / "var"
        result = _run_dev(stack_config)
        assert result.returncode == 2, result.stderr
        assert "not writable" in result.stderr
        assert "DUBAN_DATA_DIR" in result.stderr
        assert port_free_all(stack_config)


class TestEmbeddedStack:
    def test_search_attributes_mail_and_restart_persistence(self, launch_stack: Launch) -> None:
        """The stack registers every Duban* attribute, delivers mail to the Maildir, and keeps workflows."""
        running = launch_stack()
        config = running.config
        ready = running.ready
        assert ready["temporal"] == config.address
        assert ready["temporal_ui"] == f"http://127.0.0.1:{config.ui_port}"
        assert ready["smtp"] == f"127.0.0.1:{config.smtp_port}"
        assert Path(ready["maildir"]) == config.maildir
        assert set(ready["pids"]) >= {"temporal", "worker"}

        listed = running.temporal("operator", "search-attribute", "list", "-o", "json").stdout
        custom = json.loads(listed)["customAttributes"]
        for name, kind in SEARCH_ATTRIBUTES.items():
            assert custom.get(name) == _CLI_TYPES[kind], f"{name} not registered as {kind}"

        message = EmailMessage()
        message["From"] = "office@yaan.example"
        message["To"] = "unit@yaan.example"
        message["Subject"] = "催办 test"
        message.set_content("请按时报送")
        with smtplib.SMTP("127.0.0.1", config.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
        delivered = list((config.maildir / "new").iterdir())
        assert len(delivered) == 1

        workflow_id = f"e2e-persist-{uuid.uuid4().hex[:8]}"
        running.temporal(
            "workflow", "start", "--type", "Anything", "--task-queue", "nobody", "--workflow-id", workflow_id
        )
        pids = running.child_pids()
        assert running.stop() == 0
        _assert_stopped_cleanly(running, pids)
        assert any(e.get("event") == "stopped" for e in running.events)

        again = launch_stack()
        described = again.temporal("workflow", "describe", "--workflow-id", workflow_id, "-o", "json")
        assert workflow_id in described.stdout
        listed_after = again.temporal("workflow", "list", "--query", f"WorkflowId = '{workflow_id}'").stdout
        assert workflow_id in listed_after
        assert len(list((config.maildir / "new").iterdir())) == 1
        pids = again.child_pids()
        assert again.stop(signal.SIGTERM) == 0
        _assert_stopped_cleanly(again, pids)

    def test_crashed_worker_comes_back_and_server_death_ends_the_stack(self, launch_stack: Launch) -> None:
        """kill -9 of the worker: the supervisor restarts it; kill -9 of Temporal: it stops all and exits 1."""
        running = launch_stack()
        first_worker = running.pid("worker")
        os.kill(first_worker, signal.SIGKILL)
        restarted = running.wait_event("restarted", timeout=60)
        assert restarted["child"] == "worker"
        assert restarted["pid"] != first_worker
        assert pid_alive(restarted["pid"])

        pids = running.child_pids()
        os.kill(running.pid("temporal"), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while running.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running.process.returncode == 1, running.diagnostics()
        running.wait_event_end()
        _assert_stopped_cleanly(running, pids)
        assert "temporal exited unexpectedly" in running.stderr_path.read_text()


class TestSharedStack:
    async def test_client_from_the_harness_reaches_the_stack(self, stack: RunningStack) -> None:
        """`stack.client()` connects like the stack's own processes (same converter, same dev payload key)."""
        client = await stack.client()
        workflow_id = f"e2e-client-{uuid.uuid4().hex[:8]}"
        handle = await client.start_workflow("Anything", id=workflow_id, task_queue="nobody")
        try:
            found = [w.id async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
            deadline = time.monotonic() + 10
            while not found and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                found = [w.id async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
            assert found == [workflow_id]
            assert (stack.config.data_dir / "payload.key").exists()
        finally:
            await handle.terminate("test done")
