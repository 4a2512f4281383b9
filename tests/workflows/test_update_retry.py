"""The callers' retry (console/client_calls.update) against the dev server's real limit of 10 in-flight Updates."""

import asyncio
import uuid

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from console import client_calls as calls
from schemas.base import Model


class Knock(Model):
    n: int


class Answer(Model):
    n: int
    applied: int


class Release(Model):
    pass


class Expect(Model):
    knocks: int


@workflow.defn(sandboxed=False)
class Doorway:
    """Every Update waits until released, so they pile up in flight; done once every expected knock is in."""

    def __init__(self) -> None:
        self.open = False
        self.applied = 0

    @workflow.run
    async def run(self, expect: Expect) -> int:
        await workflow.wait_condition(lambda: self.applied >= expect.knocks and workflow.all_handlers_finished())
        return self.applied

    @workflow.signal
    def release(self, _: Release) -> None:
        self.open = True

    @workflow.update
    async def knock(self, knock: Knock) -> Answer:
        await workflow.wait_condition(lambda: self.open)
        self.applied += 1
        return Answer(n=knock.n, applied=self.applied)


async def _start(client: Client, task_queue: str, knocks: int) -> str:
    workflow_id = f"doorway-{uuid.uuid4().hex[:8]}"
    await client.start_workflow(Doorway.run, Expect(knocks=knocks), id=workflow_id, task_queue=task_queue)
    return workflow_id


class TestUpdateRetry:
    async def test_a_burst_over_the_limit_is_retried_and_applied_once_each(
        self, dev_server_env: WorkflowEnvironment, task_queue: str
    ) -> None:
        """15 callers at once (the server refuses the 11th with RESOURCE_EXHAUSTED): every one gets its answer."""
        client = dev_server_env.client
        async with Worker(client, task_queue=task_queue, workflows=[Doorway]):
            workflow_id = await _start(client, task_queue, 15)
            calls_ = [
                asyncio.create_task(calls.update(client, workflow_id, Doorway.knock, Knock(n=i))) for i in range(15)
            ]
            # Hold the door long enough for the callers past the tenth to be refused and back off.
            await asyncio.sleep(1.5)
            assert not any(c.done() for c in calls_)
            await client.get_workflow_handle(workflow_id).signal(Doorway.release, Release())
            answers = await asyncio.wait_for(asyncio.gather(*calls_), timeout=60)
            applied = await client.get_workflow_handle(workflow_id).result()
        assert sorted(a.n for a in answers) == list(range(15))
        assert applied == 15  # no call applied twice

    async def test_busy_after_the_retry_budget(
        self, dev_server_env: WorkflowEnvironment, task_queue: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A workflow that stays at its limit makes the caller give up with Busy, not hang or crash."""
        # One attempt: the SDK's own gRPC retry already spends ~15 s on RESOURCE_EXHAUSTED inside each.
        monkeypatch.setattr(calls, "_MAX_ATTEMPTS", 1)
        client = dev_server_env.client
        async with Worker(client, task_queue=task_queue, workflows=[Doorway]):
            workflow_id = await _start(client, task_queue, 10)
            holders = [
                asyncio.create_task(calls.update(client, workflow_id, Doorway.knock, Knock(n=i))) for i in range(10)
            ]
            await asyncio.sleep(1.0)
            with pytest.raises(calls.Busy, match="stayed busy"):
                await calls.update(client, workflow_id, Doorway.knock, Knock(n=99))
            await client.get_workflow_handle(workflow_id).signal(Doorway.release, Release())
            await asyncio.wait_for(asyncio.gather(*holders), timeout=60)
