"""The duban worker: every workflow and activity on one task queue, with injected clients."""

import asyncio
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.records import Records
from workers.settings import Settings

# Pure, deterministic libraries the deadline code uses: loaded once, shared with the sandbox.
# zoneinfo must be passed through too, or its tzinfo objects are proxies datetime rejects.
PASSTHROUGH = (
    "pendulum",
    "zoneinfo",
    "chinese_calendar",
    "lunardate",
    "schemas",
    "domain",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def build_worker(client: Client, settings: Settings, records: Records | None = None) -> Worker:
    """Assemble the worker: activities are methods of objects holding their clients and settings."""
    from workers.activities import build_activities
    from workflows.registry import WORKFLOWS

    t = settings.temporal
    return Worker(
        client,
        task_queue=t.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=build_activities(client, settings, records),
        max_concurrent_workflow_tasks=t.max_concurrent_workflow_tasks,
        max_concurrent_activities=t.max_concurrent_activities,
        max_cached_workflows=t.max_cached_workflows,
        # Without it SIGTERM cancels a mail batch at once; with it the batch may finish, and if it
        # cannot, it stops between two messages (activities/mail.py).
        graceful_shutdown_timeout=timedelta(seconds=t.graceful_shutdown_seconds),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    from workers.temporal import connect

    client = await connect(settings)
    worker = build_worker(client, settings)
    async with worker:
        await (stop or asyncio.Event()).wait()
