"""The duban worker: every workflow and activity on one task queue, with injected clients."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from workers.settings import Settings


def build_worker(client: Client, settings: Settings) -> Worker:
    """Assemble the worker: activities are methods of objects holding their clients and settings."""
    from activities.registry import build_activities
    from workflows.registry import WORKFLOWS

    t = settings.temporal
    return Worker(
        client,
        task_queue=t.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(client, settings),
        max_concurrent_workflow_tasks=t.max_concurrent_workflow_tasks,
        max_concurrent_activities=t.max_concurrent_activities,
        max_cached_workflows=t.max_cached_workflows,
        activity_executor=ThreadPoolExecutor(max_workers=8),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    from workers.temporal import connect

    client = await connect(settings)
    worker = build_worker(client, settings)
    async with worker:
        await (stop or asyncio.Event()).wait()
