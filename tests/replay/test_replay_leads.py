"""Replay every recorded LeadReferral history against today's workflow code.

The histories (tests/replay/histories/lead-*.json) come from the time-skipping
tests in tests/workflows/test_lead_referral.py, recorded with
`RECORD_HISTORIES=1 pytest tests/workflows/test_lead_referral.py`; together they
pass every branch: on time, missed and escalated, refused calls, decline and
reconsideration, the Decree 310 transfer with early involvement, joint handling.
A change that alters the commands a past lead produced fails here: the negative
tests replay them against deliberately changed leads (tests/replay/changed_lead.py)
— an activity added at the start or in the middle of a run, every moment an hour later.
`lead-undeliverable` has a refused and a missing address on its timeline; `lead-calendar` takes new
holiday data (`update_calendar`, refused once for the wrong zone) and moves its sign-for limit.
`lead-archived` is the on-time lead recorded after the `archive-at-close` patch: the closed
lead goes into the records database (the others were recorded before it and close without).
`lead-extension` takes the extension Updates (refused ones, a refusal by the office, a grant that moves the
sign-for limit) and a revocation of the unit's links, under the `lead-extension-and-links` marker.
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.replay.changed_lead import LeadReferralWithExtraStep, LeadReferralWithLaterClock, LeadReferralWithMailFirst
from workers.worker import workflow_runner
from workflows.lead_referral import LeadReferral

HISTORIES = sorted((Path(__file__).parent / "histories").glob("lead-*.json"))


def test_histories_are_there() -> None:
    """The recorded set covers every path (a missing file would silently shrink the replay)."""
    names = {p.stem for p in HISTORIES}
    assert names >= {
        "lead-on-time",
        "lead-missed-sign",
        "lead-refusals",
        "lead-decline-reconsider",
        "lead-police-transfer",
        "lead-joint-late",
        "lead-undeliverable",
        "lead-calendar",
        "lead-archived",
        "lead-extension",
    }


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    """The workflow code replays the recorded history without a non-determinism error."""
    history = load(path)
    replayer = Replayer(
        workflows=[LeadReferral], data_converter=pydantic_data_converter, workflow_runner=workflow_runner()
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize(
    ("changed", "name"),
    [
        (LeadReferralWithExtraStep, "lead-on-time"),
        (LeadReferralWithMailFirst, "lead-on-time"),
        (LeadReferralWithMailFirst, "lead-police-transfer"),
        (LeadReferralWithLaterClock, "lead-missed-sign"),
        (LeadReferralWithLaterClock, "lead-joint-late"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
async def test_a_changed_lead_fails_the_replay(changed: type, name: str) -> None:
    """An unversioned change to what a running lead does is caught as non-determinism."""
    history = load(Path(__file__).parent / "histories" / f"{name}.json")
    replayer = Replayer(workflows=[changed], data_converter=pydantic_data_converter, workflow_runner=workflow_runner())
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history, raise_on_replay_failure=True)
