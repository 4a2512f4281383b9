"""Continue-as-new on the dev server, with Updates arriving concurrently across it.

The server is told to suggest continue-as-new after a few dozen events (production:
4,096), so a 30-unit cycle continues as new while eight callers at a time submit 24 reports.
The state handed to the new run must be exactly the old run's last state — every
unit's timeline, fired steps, submissions and links, the audit, the receipts
counter — and no submission may be lost or applied twice across the hand-over.
"""

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from console import client_calls
from schemas.cycle import CycleInput, CycleStatus, OfficeAction, Receipt, SubmitReport
from tests.conftest import duban_search_attribute_keys
from tests.plans import cycle_input, plan
from tests.workflows.conftest import running_worker
from workers.dev.binaries import bundled_binary
from workers.dev.stack import server_limit_args
from workers.settings import Settings, TemporalSettings
from workers.temporal import data_converter
from workflows.reporting_cycle import ReportingCycle

SUGGEST_AFTER_EVENTS = 40
N_UNITS = 30
N_SUBMITTING = 24  # the rest keep the cycle open (an all-settled cycle forwards and closes)
CALLERS = 8


@pytest.fixture(scope="module")
async def early_can_env(session_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module's own that suggests continue-as-new early."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bundled_binary("temporal")),
        data_converter=data_converter(session_settings),
        search_attributes=duban_search_attribute_keys(),
        ip="127.0.0.1",
        ui=False,
        dev_server_log_level="warn",
        dev_server_extra_args=[
            *server_limit_args(),
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}",
        ],
    ) as env:
        yield env


async def _start_input(client: Client, workflow_id: str, run_id: str) -> CycleInput:
    """The input a run was started with, decoded from its first history event."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    (decoded,) = await client.data_converter.decode(list(payloads), [CycleInput])
    assert isinstance(decoded, CycleInput)
    return decoded


async def test_state_survives_continue_as_new_under_concurrent_updates(
    early_can_env: WorkflowEnvironment, cycle_settings: Settings
) -> None:
    """Eight callers at a time submit 30 reports; the cycle continues as new meanwhile; nothing is lost."""
    env = early_can_env
    client = env.client
    target = client.service_client.config.target_host
    settings = cycle_settings.model_copy(
        update={"temporal": TemporalSettings(address=target, task_queue=cycle_settings.temporal.task_queue)}
    )
    inp = cycle_input(plan(N_UNITS), dt.datetime.now(dt.UTC))
    assert inp.spec is not None
    async with running_worker(client, settings):
        handle = await client.start_workflow(
            "ReportingCycle", inp, id=inp.spec.cycle_id + ":can", task_queue=settings.temporal.task_queue,
            result_type=CycleStatus,
        )  # fmt: skip
        first_run = (await handle.describe()).run_id
        assert first_run is not None
        gate = asyncio.Semaphore(CALLERS)

        async def submit(i: int) -> Receipt:
            async with gate:
                call = SubmitReport(unit_id=f"u{i}", title=f"总结{i}")
                return await client_calls.update(client, handle.id, ReportingCycle.submit_report, call)

        receipts = await asyncio.gather(*(submit(i) for i in range(1, N_SUBMITTING + 1)))

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run

        for _ in range(150):
            if await continued():
                break
            await asyncio.sleep(0.2)

        # Every run of the chain, oldest first, followed through the histories.
        chain = [first_run]
        while True:
            hist = await client.get_workflow_handle(handle.id, run_id=chain[-1]).fetch_history()
            last = hist.events[-1]
            if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                break
            chain.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)
        assert len(chain) >= 2, "the cycle never continued as new"

        # Each hand-over carries the old run's full last state, exactly.
        for old, new in itertools.pairwise(chain):
            before = await client.get_workflow_handle(handle.id, run_id=old).query(ReportingCycle.get_state)
            after = await _start_input(client, handle.id, new)
            assert after.state is not None and after.spec == inp.spec
            assert after.state == before, f"state changed across continue-as-new {old} → {new}"
            assert before.outbox == [], "mail left behind at continue-as-new"

        # Every submission applied once, in the latest run, with the receipt its caller got.
        final = await handle.query(ReportingCycle.get_state)
        assert final.receipts_issued == N_SUBMITTING
        for r in receipts:
            subs = final.units[r.unit_id].submissions
            assert [s.receipt_no for s in subs] == [r.receipt_no], r.unit_id
            assert [e.what for e in final.units[r.unit_id].timeline].count("submitted") == 1
        await client_calls.update(client, handle.id, ReportingCycle.close, OfficeAction(reason="测试结束", by="op"))
        status = await handle.result()
    assert status.counts["submitted"] == N_SUBMITTING and status.stage.value == "closed"
