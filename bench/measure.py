"""Measuring helpers: percentiles, timed calls, history sizes, submissions with the callers' retry."""

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from console import client_calls as calls
from schemas.cycle import Receipt, SubmitReport

T = TypeVar("T")


def pct(values: Iterable[float], q: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    k = min(len(data) - 1, max(0, round(q / 100 * (len(data) - 1))))
    return data[k]


def summary(values: list[float]) -> dict[str, float]:
    """p50/p99/max (and count) of a list of seconds, rounded to the millisecond."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 3),
        "p99": round(pct(values, 99), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


async def timed(call: Callable[[], Awaitable[T]], times: int) -> tuple[list[float], T]:
    """Run `call` `times` times one after another; the durations and the last result."""
    durations: list[float] = []
    result: Any = None
    for _ in range(times):
        t = time.perf_counter()
        result = await call()
        durations.append(time.perf_counter() - t)
    return durations, result


async def gather_limited(calls: Iterable[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    sem = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def history_cost(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """Events, serialized bytes and runs of a workflow id over all its runs (continue-as-new included)."""
    events = size = runs = 0
    run_ids = [wf.run_id async for wf in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    for run_id in run_ids:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events += len(history.events)
        size += sum(e.ByteSize() for e in history.events)
        runs += 1
    return events, size, runs


RETRYABLE = (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


def _busy(err: BaseException) -> bool:
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return True
    return isinstance(err, RPCError) and (err.status in RETRYABLE or calls.wft_failed(err))


async def submit(handle: WorkflowHandle[Any, Any], call: SubmitReport, stats: dict[str, int]) -> float:
    """One submission as the console and CLI make it (console/client_calls.update): one update id for
    every attempt, retried with backoff (0.05 s doubling to 2 s, without end) while the server is busy
    or the call timed out. `stats["retries"]` counts the retries."""
    update_id = f"submit_report-{uuid.uuid4().hex}"

    def count(_: RetryCallState) -> None:
        stats["retries"] = stats.get("retries", 0) + 1

    retrying = AsyncRetrying(
        retry=retry_if_exception(_busy), wait=wait_exponential(multiplier=0.05, max=2.0), before_sleep=count
    )
    t = time.perf_counter()
    await retrying(handle.execute_update, "submit_report", call, id=update_id, result_type=Receipt)
    return time.perf_counter() - t
