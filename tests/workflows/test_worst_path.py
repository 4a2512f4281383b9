"""The worst path, at a size CI affords: `python -m bench.worst_path` run as its own process.

Every unit late, the three escalation rungs with a bulletin to every unit at one instant, two
late reports per unit, returns, extensions, a roll-up and supplements, a continue-as-new in the
middle: the cycle completes, every run's history stays under Temporal's 10 MB warning level
and no event over its 512 KB payload warning level.

The scenario lives in bench/ (where the largest office runs); nothing may
import bench (docs/architecture.md), so the test runs it as a subprocess on its own dev
server, SMTP sink, temporary folder and free ports, and reads the figures it prints. Takes about
three minutes (the plan's deadlines are in minutes).

The server is told to suggest continue-as-new after 30 events, which the opening alone passes: the
cycle continues as new while it waits for the deadline, and the deadline, the escalations and every
call after them run on the carried-over state. (At 150 events the suggestion fell in the calls'
burst, and whether a quiet turn of the loop came after it before the cycle closed varied from run
to run: the loop only continues as new on a turn with nothing to do.)
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = 40
CAN_AFTER_EVENTS = 30
# Temporal's warning levels, as bench.worst_path measures against them.
HISTORY_WARN = 10 * 1024 * 1024
PAYLOAD_WARN = 512 * 1024


@pytest.mark.timeout(660)
def test_the_worst_path_completes_within_temporal_limits() -> None:
    """40 units through the worst path: completed, continued as new at least once, histories and events bounded."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "bench.worst_path", "--units", str(UNITS), "--can-after-events", str(CAN_AFTER_EVENTS)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no figures printed (exit {done.returncode}): {done.stderr[-3000:]}"
    outcome = json.loads(lines[-1])
    print(f"worst path, {UNITS} units: {outcome}")
    assert outcome["units"] == UNITS
    assert outcome["status"] == "COMPLETED"
    assert outcome["runs"] >= 2, "no continue-as-new happened"
    assert len(outcome["history_bytes"]) == outcome["runs"]
    assert max(outcome["history_bytes"]) < HISTORY_WARN
    assert 0 < outcome["largest_event_bytes"] < PAYLOAD_WARN
    assert outcome["mails"] >= UNITS  # at least every unit's notice went out
    assert outcome["holds"] is True
    assert done.returncode == 0, done.stderr[-3000:]
