"""Replay every recorded ReportingCycle history against today's workflow code.

The histories (tests/replay/histories/cycle-*.json) are written by
`python -m tests.replay.record_cycle_histories` (see its docstring for what each
one covers); together they pass every branch of the cycle. They are recorded
with the plain pydantic converter, so replay needs no payload key. A change that
alters the commands a past cycle produced fails here until it is patched
(`workflow.patched`) or the histories are deliberately re-recorded.
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.replay.changed_cycle import ReportingCycleWithExtraStep
from workers.worker import workflow_runner
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("cycle-*.json"))
# Every branch, by the history that passes it (see record_cycle_histories.py).
EXPECTED = {
    "cycle-ladder",  # on time, late, never; reminders, escalations, bulletin; roll-up without upper office
    "cycle-office-actions",  # extension approved/refused, return for revision, waiver, close by office
    "cycle-links",  # revoke_links: a unit's links revoked before and after it reports
    "cycle-calendar",  # update_calendar moves deadlines; roll-up by mail; closes when all settled
    "cycle-rollup-child",  # forward on request, supplement into the parent cycle
    "cycle-rollup-parent",  # receives a roll-up as a unit's submission
    "cycle-template",  # opened from a template (Schedule path), holidays by activity
    "cycle-continue-as-new-1",  # continues as new under a long history
    "cycle-continue-as-new-2",  # the new run carries the state on
    "cycle-bounded",  # issue 17's patches: roll-up confirmed (a file missing), supplement each, lists once
}


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def replayer(workflows: list[type]) -> Replayer:
    return Replayer(workflows=workflows, data_converter=pydantic_data_converter, workflow_runner=workflow_runner())


def test_histories_are_there() -> None:
    """The recorded set covers every branch (a missing file would silently shrink the replay)."""
    assert {p.stem for p in HISTORIES} >= EXPECTED


def patch_ids(history: WorkflowHistory) -> set[str]:
    """The `workflow.patched` ids a history recorded (each a marker with its id in the payload)."""
    return {
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    }


def test_the_patched_branches_of_issue_17_are_recorded() -> None:
    """The replay passes the new side of each issue-17 patch, not only the old one."""
    bounded = load(Path(__file__).parent / "histories" / "cycle-bounded.json")
    assert patch_ids(bounded) >= {"rollup-confirmed", "supplement-each", "lists-once"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    """Today's workflow code replays the recorded history without a non-determinism error."""
    result = await replayer(WORKFLOWS).replay_workflow(load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("name", ["cycle-ladder", "cycle-office-actions"])
async def test_a_changed_workflow_fails_the_replay(name: str) -> None:
    """An unversioned extra activity call at the start of the run is caught as non-determinism."""
    path = Path(__file__).parent / "histories" / f"{name}.json"
    with pytest.raises(NondeterminismError):
        await replayer([ReportingCycleWithExtraStep]).replay_workflow(load(path), raise_on_replay_failure=True)
