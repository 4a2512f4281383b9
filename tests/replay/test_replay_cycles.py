"""Replay every recorded ReportingCycle history against today's workflow code.

The histories (tests/replay/histories/cycle-*.json) are written by
`python -m tests.replay.record_cycle_histories` (see its docstring for what each
one covers); together they pass every branch of the cycle. They are recorded
with the plain pydantic converter, so replay needs no payload key. A change that
alters the commands a past cycle produced fails here until it is patched
(`workflow.patched`) or the histories are deliberately re-recorded.

`cycle-prepatch-*.json` come from before each `workflow.patched` marker: the same
scenarios recorded with the workflow code of the commit before the patch (a scratch
checkout, only the JSON committed) — `prepatch-wake-busy` before `wake-while-busy`
(081979c), `prepatch-batches-big-bulletin` before `outbox-in-batches` (b73e754).

What the negative tests show (tests/replay/changed_cycle.py): an activity added at
the start or in the middle of a run is caught; so is a changed agenda (every rung an
hour later). A timer whose length alone changes, the agenda unchanged, is NOT
caught — Temporal does not compare a timer's duration on replay — and needs not be:
the loop acts on what is due at `workflow.now()` when it wakes, so on a running
history it does exactly what it did (`test_a_longer_timer_alone_replays`).
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.replay.changed_cycle import (
    ReportingCycleWithExtraRollupStep,
    ReportingCycleWithExtraStep,
    ReportingCycleWithLaterLadder,
    ReportingCycleWithLongerSleeps,
)
from workers.worker import workflow_runner
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("cycle-*.json"))
# Every branch, by the history that passes it (see record_cycle_histories.py).
EXPECTED = {
    "cycle-ladder",  # on time, late, never; reminders, escalations, bulletin; roll-up without upper office
    "cycle-instant-order",  # the ladder acted on in the declared order of one instant (instant-order marker)
    "cycle-office-actions",  # extension approved/refused, return for revision, waiver, close by office
    "cycle-extension-mail",  # the office mailed a request, decisions with the previous deadline (both patches)
    "cycle-archived",  # closed by the office, then archived into the records database (archive-at-close)
    "cycle-links",  # revoke_links: a unit's links revoked before and after it reports
    "cycle-chase",  # remind_now: 催办 now to the units owing, the same key again (nothing sent), one unit
    "cycle-amend",  # amend_units: a unit added, one withdrawn, a contact changed, the same plan again; the ladder after
    "cycle-calendar",  # update_calendar moves deadlines; roll-up by mail; closes when all settled
    "cycle-rollup-child",  # forward on request, supplement into the parent cycle
    "cycle-rollup-parent",  # receives a roll-up as a unit's submission
    "cycle-template",  # opened from a template (Schedule path), holidays by activity
    "cycle-continue-as-new-1",  # continues as new under a long history
    "cycle-continue-as-new-2",  # the new run carries the state on
    "cycle-bounded",  # issue 17's patches: roll-up confirmed (a file missing), supplement each, lists once
    "cycle-big-bulletin",  # a 40-unit bulletin goes out in batches (outbox-in-batches marker)
    "cycle-mail-retry",  # the mail activity fails while SMTP is down, is retried; a call during a batch
    "cycle-prepatch-wake-busy",  # twenty calls during the notices, before wake-while-busy
    "cycle-prepatch-batches-big-bulletin",  # the 40-unit bulletin before outbox-in-batches: one batch
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


def test_the_extension_patches_are_recorded_on_both_sides() -> None:
    """The replay passes the new side of the extension patches, and office-actions (before them) the old."""
    extension = {"extension-to-office", "extension-decision-dated"}
    assert patch_ids(load(Path(__file__).parent / "histories" / "cycle-extension-mail.json")) >= extension
    assert not patch_ids(load(Path(__file__).parent / "histories" / "cycle-office-actions.json")) & extension


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    """Today's workflow code replays the recorded history without a non-determinism error."""
    result = await replayer(WORKFLOWS).replay_workflow(load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


def _history(name: str) -> WorkflowHistory:
    return load(Path(__file__).parent / "histories" / f"{name}.json")


def patch_markers(history: WorkflowHistory) -> set[str]:
    """The `workflow.patched` ids recorded in a history."""
    found = set()
    for e in history.events:
        if e.HasField("marker_recorded_event_attributes"):
            for payloads in e.marker_recorded_event_attributes.details.values():
                for p in payloads.payloads:
                    found.update(pid for pid in ("wake-while-busy", "outbox-in-batches") if pid.encode() in p.data)
    return found


def activities(history: WorkflowHistory, name: str) -> list[int]:
    """The attempt at which each `name` activity completed or failed, in order."""
    started = {
        e.event_id: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    }
    scheduled = {
        e.event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == name
    }
    return [
        started.get(e.activity_task_completed_event_attributes.started_event_id, 1)
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
    ]


class TestPatchedBranches:
    def test_each_patch_has_a_history_with_its_marker_and_one_from_before(self) -> None:
        """The new histories pass the patched point (marker recorded); the old ones have no marker."""
        assert "outbox-in-batches" in patch_markers(_history("cycle-big-bulletin"))
        assert "wake-while-busy" in patch_markers(_history("cycle-mail-retry"))
        assert "outbox-in-batches" not in patch_markers(_history("cycle-prepatch-batches-big-bulletin"))
        assert not patch_markers(_history("cycle-prepatch-wake-busy"))
        assert "instant-order" in patch_ids(_history("cycle-instant-order"))
        assert "instant-order" not in patch_ids(_history("cycle-ladder"))
        assert "amend-units" in patch_ids(_history("cycle-amend"))

    def test_before_the_batches_patch_the_bulletin_was_one_batch(self) -> None:
        """Same scenario, fewer mail activities before the patch: without its guard, replay would differ."""
        before = activities(_history("cycle-prepatch-batches-big-bulletin"), "send_batch")
        after = activities(_history("cycle-big-bulletin"), "send_batch")
        assert len(after) > len(before)

    def test_a_mail_batch_failed_and_was_retried(self) -> None:
        """The mail-retry history holds a mail activity that completed only on a later attempt."""
        attempts = activities(_history("cycle-mail-retry"), "send_batch")
        assert attempts[0] >= 2, attempts


@pytest.mark.parametrize(
    ("changed", "name"),
    [
        (ReportingCycleWithExtraStep, "cycle-ladder"),
        (ReportingCycleWithExtraStep, "cycle-office-actions"),
        (ReportingCycleWithExtraRollupStep, "cycle-ladder"),
        (ReportingCycleWithExtraRollupStep, "cycle-calendar"),
        (ReportingCycleWithLaterLadder, "cycle-ladder"),
        (ReportingCycleWithLaterLadder, "cycle-big-bulletin"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
async def test_a_changed_workflow_fails_the_replay(changed: type, name: str) -> None:
    """An unversioned change to what a running cycle does is caught as non-determinism."""
    with pytest.raises(NondeterminismError):
        await replayer([changed]).replay_workflow(_history(name), raise_on_replay_failure=True)


@pytest.mark.parametrize("name", ["cycle-ladder", "cycle-big-bulletin"])
async def test_a_longer_timer_alone_replays(name: str) -> None:
    """Known limit, pinned: a timer an hour longer with the agenda unchanged is not caught — and acts the same."""
    result = await replayer([ReportingCycleWithLongerSleeps]).replay_workflow(
        _history(name), raise_on_replay_failure=True
    )
    assert result.replay_failure is None
