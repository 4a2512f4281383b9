"""The worker process: signals, health endpoint, SDK metrics and duban's gauges around the Temporal worker.

`duban worker` runs this. The health server starts first, so a probe sees 503
(not a refused connection) while the worker is still reaching Temporal; the
worker keeps retrying the connection instead of crashing when it starts before
the server, as it does under compose or Kubernetes.
"""

import asyncio
import contextlib
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from schemas.holiday_check import HOLIDAY_CHECK_SCHEDULE
from workers.gauges import DubanGauges
from workers.health import HealthServer, SdkTelemetry
from workers.holiday_check import ensure_holiday_check
from workers.logging import get_logger
from workers.settings import Settings
from workers.temporal import connect
from workers.worker import build_worker

log = get_logger("duban.worker")

_RETRY_FIRST_SECONDS = 0.5
_RETRY_MAX_SECONDS = 10.0
_HEALTH_RPC_TIMEOUT = timedelta(seconds=2)


class _Running:
    """What the health check looks at: set once the client and worker exist."""

    client: Client | None = None
    worker: Worker | None = None

    async def healthy(self) -> bool:
        if self.client is None or self.worker is None or not self.worker.is_running:
            return False
        return await self.client.service_client.check_health(timeout=_HEALTH_RPC_TIMEOUT)


async def serve_worker(settings: Settings, health_host: str = "127.0.0.1", health_port: int | None = None) -> None:
    """Run the worker until SIGINT/SIGTERM; with a health port, also serve /healthz and /metrics."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # Before the first client: the SDK binds clients and workers to the default runtime. Only with a
    # health port, which is where its metrics are served.
    telemetry = SdkTelemetry() if health_port is not None else None
    if telemetry is not None:
        telemetry.install()
    running = _Running()
    async with contextlib.AsyncExitStack() as stack:
        if health_port is not None:
            health = HealthServer(health_host, health_port, running.healthy, telemetry)
            await stack.enter_async_context(health)
            log.info("health endpoint listening", url=f"http://{health.host}:{health.port}/healthz")
        client = await _connect_with_retry(settings, stop)
        if client is None:
            return
        running.client = client
        if telemetry is not None:
            gauges = DubanGauges(telemetry.runtime.metric_meter)
            refresher = asyncio.create_task(gauges.keep_fresh(client, settings.metrics_refresh_seconds))
            stack.push_async_callback(_cancelled, refresher)
        await _ensure_holiday_check(client, settings)
        worker = build_worker(client, settings)
        running.worker = worker
        async with worker:
            log.info("worker polling", task_queue=settings.temporal.task_queue, address=settings.temporal.address)
            await stop.wait()
            log.info("worker stopping")


async def _ensure_holiday_check(client: Client, settings: Settings) -> None:
    """Every worker makes sure the daily holiday check's Schedule exists; the first one creates it.

    A Temporal that refuses Schedules (permissions) must not keep the worker from working: say so and go on."""
    try:
        if await ensure_holiday_check(client, settings.temporal.task_queue):
            log.info("holiday check scheduled", schedule=HOLIDAY_CHECK_SCHEDULE)
    except RPCError as err:
        log.warning("holiday check not scheduled", schedule=HOLIDAY_CHECK_SCHEDULE, error=err.message)


async def _cancelled(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class _Stopped(Exception):
    """Told to stop while still waiting for Temporal."""


async def _connect_with_retry(settings: Settings, stop: asyncio.Event) -> Client | None:
    """Connect, retrying with capped backoff (0.5 s doubling to 10 s) until it works or we are told to stop (None)."""

    async def attempt() -> Client:
        if stop.is_set():
            raise _Stopped
        return await connect(settings)

    async def pause(seconds: float) -> None:
        # A stop signal cuts the wait short; the next attempt then sees it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else None
        log.warning("temporal not reachable yet", address=settings.temporal.address, error=str(error), retry_in=delay)

    retrying = AsyncRetrying(
        # The SDK reports an unreachable server as RuntimeError.
        retry=retry_if_exception_type(RuntimeError),
        wait=wait_exponential(multiplier=_RETRY_FIRST_SECONDS, max=_RETRY_MAX_SECONDS),
        sleep=pause,
        before_sleep=report,
    )
    try:
        client: Client = await retrying(attempt)
    except _Stopped:
        return None
    return client
