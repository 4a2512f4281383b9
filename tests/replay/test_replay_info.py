"""Replay every recorded InfoChannel history against today's workflow code.

The histories (tests/replay/histories/info-*.json) are written by
`python -m tests.replay.record_info_histories` (see its docstring for what each
covers). A change that alters the commands a past channel produced fails here
until it is guarded with `workflow.patched` or the histories are re-recorded on purpose.
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import workflow_runner
from workflows.info_channel import InfoChannel

HISTORIES = sorted((Path(__file__).parent / "histories").glob("info-*.json"))
EXPECTED = {
    # return, resubmit, adopt, reminder, forward by mail at the limit and on request, file, expire, quiet,
    # page out, close
    "info-review",
    "info-upper-city",  # sent up into the province's channel
    "info-upper-province",  # receives the city's item
    "info-continue-as-new-1",  # continues as new past max_run_events
    "info-continue-as-new-2",  # the new run carries on and closes
}


def test_histories_are_there_and_pass_the_branches() -> None:
    """The set covers every branch (a missing file or branch would silently shrink the replay)."""
    assert {p.stem for p in HISTORIES} >= EXPECTED
    review = (Path(__file__).parent / "histories" / "info-review.json").read_text(encoding="utf-8")
    events = json.loads(review)["events"]
    activities = {
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    }
    assert {"send_batch", "archive_info_items", "forward_info_item"} <= activities
    first = json.loads((Path(__file__).parent / "histories" / "info-continue-as-new-1.json").read_text())
    assert first["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    """Today's channel code replays the recorded history without a non-determinism error."""
    history = WorkflowHistory.from_json(path.stem, _text(path))
    replayer = Replayer(
        workflows=[InfoChannel], data_converter=pydantic_data_converter, workflow_runner=workflow_runner()
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
