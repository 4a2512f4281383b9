"""The worker's health and metrics endpoint: `/healthz` for probes, `/metrics` for Prometheus.

One port serves both (`duban worker --health-port`, DUBAN_HEALTH_PORT; 9400 in the
image), so probes, the compose healthcheck and the pods' scrape annotations all
name one address. `/metrics` is the Temporal SDK's own Prometheus exporter
(`PrometheusConfig` runtime telemetry: the SDK's metric names, labels and real
histograms), which also carries duban's gauges (workers/gauges.py) because they
are made on the same runtime's meter. The exporter listens on a loopback port of
its own, chosen at start and never exposed; `/metrics` here relays its page.

A deliberately tiny HTTP/1.1 server on asyncio, so the worker needs no web framework.
"""

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable

import httpx
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

HealthCheck = Callable[[], Awaitable[bool]]

# What Prometheus's text format is served as (the exporter's own header is relayed when present).
_TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


def _loopback_port(host: str) -> int:
    # The same as workers.dev.ports.free_port, which the production worker may not import (import-linter).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class SdkTelemetry:
    """A Temporal runtime whose metrics (the SDK's, and gauges made on its meter) a Prometheus exporter serves."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.port = port if port is not None else _loopback_port(host)
        self.url = f"http://{host}:{self.port}/metrics"
        config = PrometheusConfig(bind_address=f"{host}:{self.port}", durations_as_seconds=True)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=config))

    def install(self) -> None:
        """Make this the process's default runtime. Before the first client: clients and workers
        take the default runtime when they are built."""
        Runtime.set_default(self.runtime, error_if_already_set=False)


class HealthServer:
    """Serves `/healthz` (200 when `check` passes, 503 otherwise) and, with telemetry, `/metrics` on host:port."""

    def __init__(self, host: str, port: int, check: HealthCheck, telemetry: SdkTelemetry | None = None) -> None:
        self.host = host
        self.port = port
        self._check = check
        self._telemetry = telemetry
        self._server: asyncio.Server | None = None
        self._http: httpx.AsyncClient | None = None
        self._up = None
        if telemetry is not None:
            meter = telemetry.runtime.metric_meter
            self._up = meter.create_gauge("duban_worker_up", "1 while the worker is polling its task queue")
            started = meter.create_gauge("duban_worker_start_time_seconds", "Unix time the worker process started")
            started.set(int(time.time()))

    async def __aenter__(self) -> "HealthServer":
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        # Port 0 asks the kernel for a free one; report the one we got.
        self.port = self._server.sockets[0].getsockname()[1]
        self._http = httpx.AsyncClient(timeout=5)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._http is not None:
            await self._http.aclose()

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
            self._show_up(healthy)
            if healthy:
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", b"unhealthy\n"
        if path == "/metrics" and self._telemetry is not None:
            self._show_up(await self._safe_check())
            return await self._relay_metrics(self._telemetry.url)
        return "404 Not Found", "text/plain", b"try /healthz or /metrics\n"

    async def _relay_metrics(self, url: str) -> tuple[str, str, bytes]:
        assert self._http is not None
        try:
            page = await self._http.get(url)
        except httpx.HTTPError as error:
            return (
                "503 Service Unavailable",
                "text/plain",
                f"the SDK's metrics exporter did not answer: {error}\n".encode(),
            )
        return "200 OK", page.headers.get("content-type", _TEXT_FORMAT), page.content

    def _show_up(self, healthy: bool) -> None:
        if self._up is not None:
            self._up.set(1 if healthy else 0)

    async def _safe_check(self) -> bool:
        try:
            return await asyncio.wait_for(self._check(), timeout=3)
        except Exception:  # a failing or hanging check means unhealthy, never a crashed endpoint
            return False
