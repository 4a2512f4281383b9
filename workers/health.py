"""The worker's health and metrics endpoint: `/healthz` for probes, `/metrics` for Prometheus.

A deliberately tiny HTTP/1.1 server on asyncio, so the worker needs no web
framework. `/metrics` carries our own gauges plus the Temporal SDK's metrics
(poll latencies, task counts, ...), which the SDK hands over through a
`MetricBuffer` drained on every scrape.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

HealthCheck = Callable[[], Awaitable[bool]]
_Key = tuple[str, tuple[tuple[str, str], ...]]

# How many SDK metric updates may pile up between drains; the SDK drops (and logs) beyond it.
_BUFFER_SIZE = 50_000
_DRAIN_SECONDS = 5.0


class TemporalMetrics(Collector):
    """Temporal SDK metrics from a `MetricBuffer`, accumulated and exposed in Prometheus form.

    Counters add up their deltas, gauges keep the last value, histograms become
    summaries (count and sum), which is enough for rates and mean latencies.
    """

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._counters: dict[_Key, float] = {}
        self._gauges: dict[_Key, float] = {}
        self._summaries: dict[_Key, tuple[int, float]] = {}
        self._help: dict[str, str] = {}

    def drain(self) -> None:
        """Fold the buffered updates into the running totals; call often enough to keep the buffer small."""
        for update in self._buffer.retrieve_updates():
            metric = update.metric
            name = metric.name.replace(".", "_").replace("-", "_")
            self._help.setdefault(name, metric.description or name)
            key: _Key = (name, tuple(sorted((k, str(v)) for k, v in update.attributes.items())))
            if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                self._counters[key] = self._counters.get(key, 0.0) + update.value
            elif metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                self._gauges[key] = float(update.value)
            else:
                count, total = self._summaries.get(key, (0, 0.0))
                self._summaries[key] = (count + 1, total + update.value)

    def collect(self) -> Iterable[Metric]:
        self.drain()
        yield from self._families(self._counters, CounterMetricFamily)
        yield from self._families(self._gauges, GaugeMetricFamily)
        summaries: dict[str, SummaryMetricFamily] = {}
        for (name, labels), (count, total) in sorted(self._summaries.items()):
            family = summaries.get(name)
            if family is None:
                family = summaries[name] = SummaryMetricFamily(name, self._help[name], labels=[k for k, _ in labels])
            family.add_metric([v for _, v in labels], count_value=count, sum_value=total)
        yield from summaries.values()

    def _families(self, values: dict[_Key, float], kind: Any) -> Iterator[Metric]:
        families: dict[str, Any] = {}
        for (name, labels), value in sorted(values.items()):
            family = families.get(name)
            if family is None:
                family = families[name] = kind(name, self._help[name], labels=[k for k, _ in labels])
            family.add_metric([v for _, v in labels], value)
        yield from families.values()


def metrics_runtime(registry: CollectorRegistry) -> tuple[Runtime, TemporalMetrics]:
    """A Temporal runtime whose SDK metrics land in `registry` (drained on scrape and periodically)."""
    buffer = MetricBuffer(_BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    collector = TemporalMetrics(buffer)
    registry.register(collector)
    return runtime, collector


def install_metrics_runtime(registry: CollectorRegistry) -> TemporalMetrics:
    """Make the process's default Temporal runtime record SDK metrics into `registry`.

    Must run before the first client is created: clients and workers take the
    default runtime when they are built.
    """
    runtime, collector = metrics_runtime(registry)
    Runtime.set_default(runtime, error_if_already_set=False)
    return collector


class HealthServer:
    """Serves `/healthz` (200 when `check` passes, 503 otherwise) and `/metrics` on host:port."""

    def __init__(
        self,
        host: str,
        port: int,
        check: HealthCheck,
        registry: CollectorRegistry,
        temporal_metrics: TemporalMetrics | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._check = check
        self._registry = registry
        self._temporal_metrics = temporal_metrics
        self._server: asyncio.Server | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._up = Gauge("duban_worker_up", "1 while the worker is polling its task queue", registry=registry)
        started = Gauge("duban_worker_start_time_seconds", "Unix time the worker process started", registry=registry)
        started.set(time.time())

    async def __aenter__(self) -> "HealthServer":
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        # Port 0 asks the kernel for a free one; report the one we got.
        self.port = self._server.sockets[0].getsockname()[1]
        if self._temporal_metrics is not None:
            self._drainer = asyncio.create_task(self._drain_periodically(self._temporal_metrics))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @staticmethod
    async def _drain_periodically(metrics: TemporalMetrics) -> None:
        # Scrapes may be rare or absent; the SDK buffer must still be emptied.
        while True:
            await asyncio.sleep(_DRAIN_SECONDS)
            metrics.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            # Skip the headers; nothing in them matters for these two endpoints.
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            status, content_type, body = await self._respond(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (body if method != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/healthz":
            healthy = await self._safe_check()
            self._up.set(1 if healthy else 0)
            if healthy:
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", b"unhealthy\n"
        if path == "/metrics":
            self._up.set(1 if await self._safe_check() else 0)
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self._registry)
        return "404 Not Found", "text/plain", b"try /healthz or /metrics\n"

    async def _safe_check(self) -> bool:
        try:
            return await asyncio.wait_for(self._check(), timeout=3)
        except Exception:  # a failing or hanging check means unhealthy, never a crashed endpoint
            return False
