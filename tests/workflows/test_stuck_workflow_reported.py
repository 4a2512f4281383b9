"""The stuck-cycle runbook's first step on duban's dev server: the server flags a workflow whose task keeps failing.

`system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute` is off on a
self-hosted server unless set; duban sets it (schemas/visibility.py, compose, Helm).
The query docs/operations.md gives then finds the frozen workflow, and a healthy one
is not listed.
"""

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from schemas.visibility import REPORTED_PROBLEMS_AFTER

pytestmark = pytest.mark.devserver

# The query in docs/operations.md "A stuck cycle".
STUCK_QUERY = "TemporalReportedProblems IN ('category=WorkflowTaskFailed', 'category=WorkflowTaskTimedOut')"


@workflow.defn(sandboxed=False)
class FrozenByABug:
    """Fails every workflow task, as a cycle does when its code meets data it cannot handle."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug: every task of this workflow fails")


@workflow.defn(sandboxed=False)
class Healthy:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(hours=1))


async def test_a_workflow_whose_task_keeps_failing_is_found_by_the_runbook_query(
    dev_server_env: WorkflowEnvironment,
) -> None:
    """After REPORTED_PROBLEMS_AFTER failed tasks the server sets TemporalReportedProblems; the query lists it."""
    client = dev_server_env.client
    queue = f"stuck-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[FrozenByABug, Healthy]):
        frozen = await client.start_workflow(FrozenByABug.run, id=f"{queue}-frozen", task_queue=queue)
        healthy = await client.start_workflow(Healthy.run, id=f"{queue}-healthy", task_queue=queue)
        listed: set[str] = set()
        deadline = time.monotonic() + 90  # the server retries failed tasks with backoff (~20 s for 3)
        while frozen.id not in listed:
            assert time.monotonic() < deadline, "the server never flagged the frozen workflow"
            await asyncio.sleep(1)
            listed = {w.id async for w in client.list_workflows(f"TaskQueue = '{queue}' AND {STUCK_QUERY}")}
        assert healthy.id not in listed
        described = await frozen.describe()
        assert described.status is not None and described.status.name == "RUNNING", "stuck, not failed: it waits"
        attempts = described.raw_description.pending_workflow_task.attempt
        assert attempts >= REPORTED_PROBLEMS_AFTER
        await frozen.terminate("test done")
        await healthy.terminate("test done")
