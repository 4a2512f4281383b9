"""A stuck cycle is visible: while the server keeps retrying a cycle's failing workflow task, `duban status`
(and every surface built on `cycle_status`) shows it with the error, instead of the last healthy-looking state.

The production ReportingCycle refuses in its validators everything its handlers cannot apply, so nothing a
caller can send fails its task any more (tests/workflows/test_update_properties.py). To see the display, the
worker here runs the production cycle plus one Update whose handler raises after its (empty) validator: the
way a handler bug, or a deploy that broke determinism, freezes a cycle. Real dev server, real activities.
"""

import asyncio
import datetime as dt
import io

import pytest
from rich.console import Console
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from console import client_calls, cycle_cmd
from schemas.cycle import ActionResult, CycleInput, CycleStatus, OfficeAction
from tests.plans import cycle_input, plan
from workers.activities import build_activities
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle


@workflow.defn(name="ReportingCycle")
class CycleWithAFailingHandler(ReportingCycle):
    @workflow.init
    def __init__(self, input: CycleInput) -> None:
        super().__init__(input)

    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        return await super().run(input)

    @workflow.update
    def fail_the_task(self, call: OfficeAction) -> ActionResult:
        raise RuntimeError(f"handler bug: {call.reason}")  # not an ApplicationError: the task fails


async def _stuck(client: Client, cycle_id: str) -> str:
    """What `cycle_status` says once the server has retried the failing task (at once, then with back-off)."""
    for _ in range(60):
        try:
            status = await client_calls.cycle_status(client, cycle_id)
        except client_calls.Stuck as err:
            return str(err)
        assert not status.problems or status.problems[0].startswith("workflow task failing"), status.problems
        if status.problems:
            return status.problems[0]
        await asyncio.sleep(0.5)
    raise AssertionError("the failing workflow task never showed in the cycle's status")


async def test_a_cycle_whose_workflow_task_fails_shows_as_stuck_with_the_error(
    dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_server_env.client
    inp = cycle_input(plan(2), dt.datetime.now(dt.UTC))
    assert inp.spec is not None
    cycle_id = f"{inp.spec.cycle_id}:stuck:{dt.datetime.now().strftime('%H%M%S%f')}"
    worker = Worker(
        client,
        task_queue=cycle_settings.temporal.task_queue,
        workflows=[CycleWithAFailingHandler],
        activities=build_activities(client, cycle_settings),
        # The test's own workflow class lives in a test module; the sandbox is not what is tested here.
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,
    )
    async with worker:
        handle = await client.start_workflow(
            "ReportingCycle", inp, id=cycle_id, task_queue=cycle_settings.temporal.task_queue
        )
        healthy = await client_calls.cycle_status(client, cycle_id)
        assert healthy.problems == []  # a working cycle shows no problem
        # The caller hangs (the Update is never completed); the cycle's task fails on every attempt.
        stuck_call = asyncio.create_task(
            handle.execute_update("fail_the_task", OfficeAction(reason="boom", by="op"), result_type=ActionResult)
        )
        try:
            said = await _stuck(client, cycle_id)
            assert "workflow task failing (attempt " in said
            assert "handler bug: boom" in said  # the error itself, decoded (failures are encrypted)
            # `duban status`'s board prints a cycle's problems: a stuck one that still answers shows so.
            board = io.StringIO()
            monkeypatch.setattr(cycle_cmd, "console", Console(file=board, width=200))
            cycle_cmd.print_board(healthy.model_copy(update={"problems": [said]}))
            assert "问题 " in board.getvalue() and "handler bug: boom" in board.getvalue()
        finally:
            stuck_call.cancel()
            await handle.terminate("test over")
