"""The restore drill of docs/operations.md, once, on the real embedded stack.

Back up `var/` with `duban backup` while `duban dev` runs and a cycle is open, restore
the copy as the data directory of a second stack, start it, and find the cycle there —
running, with its units and the mail it already sent on record.
"""

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack, new_stack_config, start_stack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
Launch = Callable[..., RunningStack]


def test_backup_while_running_then_restore_into_a_new_data_dir(launch_stack: Launch, tmp_path: Path) -> None:
    """`duban backup` during a live cycle; a stack started on the restored copy shows the cycle, running."""
    running = launch_stack()
    started = running.duban("campaign", "start", str(REPO / "examples" / "demo.yaml"), "--json")
    assert started.returncode == 0, started.stderr
    cycle_id = json.loads(started.stdout)["cycles"][0]["cycle_id"]
    # The notices go out at once; wait until the sent-ledger holds them (the state a backup must keep).
    ledger = running.config.data_dir / "records.db"
    for _ in range(300):
        if ledger.exists():
            with sqlite3.connect(ledger) as db:
                if db.execute("SELECT count(*) FROM sent WHERE scope = ?", (cycle_id,)).fetchone()[0] >= 4:
                    break
        time.sleep(0.2)
    with sqlite3.connect(ledger) as db:
        sent_before = {r[0] for r in db.execute("SELECT key FROM sent WHERE scope = ?", (cycle_id,))}
    assert sent_before, "the cycle sent no notice"

    backup_dir = tmp_path / "backup"
    made = running.duban("backup", str(backup_dir), "--json")
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert {"temporal.db", "records.db", "payload.key", "mail/"} <= set(manifest["copied"])
    assert not list(backup_dir.glob("*-wal")), "a backup is one file per database, no WAL beside it"
    # Refused, nothing changed: a second backup into the same place.
    again = running.duban("backup", str(backup_dir))
    assert again.returncode == 2 and "never overwrites" in again.stderr
    running.stop()

    # Restore: the copy becomes the data directory of a new stack (other ports, other folder).
    restored = new_stack_config(tmp_path / "restored")
    backup_dir.rename(restored.data_dir)
    second = start_stack(restored)
    try:
        described = json.loads(second.temporal("workflow", "describe", "--workflow-id", cycle_id, "-o", "json").stdout)
        status = described.get("workflowExecutionInfo", described).get("status")
        assert status in ("WORKFLOW_EXECUTION_STATUS_RUNNING", "Running"), described
        board = second.duban("status", "demo", "--json")
        assert board.returncode == 0, board.stderr
        assert cycle_id in board.stdout
        with sqlite3.connect(restored.data_dir / "records.db") as db:
            sent_after = {r[0] for r in db.execute("SELECT key FROM sent WHERE scope = ?", (cycle_id,))}
        assert sent_before <= sent_after, "the restored ledger lost messages already sent (they would go out again)"
    finally:
        second.stop()
        second.kill_everything()
