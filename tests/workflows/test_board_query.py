"""The console's board against a worker from before `get_board` (a rolling upgrade: the console is new, a
worker still runs the old ReportingCycle): the board falls back to `get_status` and shows the same thing."""

import datetime as dt
import uuid

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from console import client_calls as calls
from domain.cycle_board import board_of_status
from domain.cycle_views import cycle_status
from domain.preview import opening_state
from schemas.cycle import CycleStatus
from tests.plans import cycle_input, plan

OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@workflow.defn(name="ReportingCycle")
class CycleBeforeGetBoard:
    """The old worker's cycle as the console sees it: it answers `get_status`, and has no `get_board`."""

    @workflow.init
    def __init__(self, status: CycleStatus) -> None:
        self.status = status

    @workflow.run
    async def run(self, status: CycleStatus) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def get_status(self) -> CycleStatus:
        return self.status


async def test_a_worker_without_get_board_gives_the_same_board(time_skipping_env: WorkflowEnvironment) -> None:
    """The query fails as unknown on that worker; the board is made from its full status instead, not left out."""
    spec = cycle_input(plan(5), OPENED).spec
    assert spec is not None
    status = cycle_status(spec, opening_state(spec), OPENED)
    client, queue = time_skipping_env.client, f"test-{uuid.uuid4().hex[:12]}"
    # Unsandboxed: the sandbox would re-import this module's imports (the console, cryptography's bindings);
    # the stand-in only holds a value.
    runner = UnsandboxedWorkflowRunner()
    async with Worker(client, task_queue=queue, workflows=[CycleBeforeGetBoard], workflow_runner=runner):
        handle = await client.start_workflow(CycleBeforeGetBoard.run, status, id=spec.cycle_id, task_queue=queue)
        ref = calls.CycleRef(spec.cycle_id, "test", "yaan", "2026-T", "open", running=True, started_at=None)
        shown = await calls.boards(client, [ref])
        assert shown == [board_of_status(status, 100)]
        await handle.terminate("test over")
