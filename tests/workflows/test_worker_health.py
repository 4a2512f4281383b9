"""The worker's /healthz and /metrics endpoint, including the Temporal SDK's own metrics."""

import uuid
from datetime import timedelta

import httpx
from prometheus_client import CollectorRegistry
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workers.health import HealthServer, metrics_runtime


@workflow.defn(sandboxed=False)
class Noop:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(milliseconds=1))


async def _fetch(url: str) -> tuple[int, str, str]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(url)
    return response.status_code, response.headers["content-type"], response.text


class TestHealthServer:
    async def test_healthz_follows_the_check(self) -> None:
        """200 while the check passes, 503 when it fails or raises, on a port the kernel picked."""
        state = {"ok": False}

        async def check() -> bool:
            if state.get("raise"):
                raise RuntimeError("server gone")
            return state["ok"]

        async with HealthServer("127.0.0.1", 0, check, CollectorRegistry()) as server:
            url = f"http://127.0.0.1:{server.port}"
            assert server.port != 0
            assert (await _fetch(url + "/healthz"))[0] == 503
            state["ok"] = True
            status, _, body = await _fetch(url + "/healthz")
            assert (status, body) == (200, "ok\n")
            state["raise"] = True
            assert (await _fetch(url + "/healthz"))[0] == 503
            assert (await _fetch(url + "/nowhere"))[0] == 404

    async def test_metrics_in_prometheus_text_format(self) -> None:
        """/metrics is Prometheus exposition text with the worker's own gauges."""

        async def check() -> bool:
            return True

        async with HealthServer("127.0.0.1", 0, check, CollectorRegistry()) as server:
            status, content_type, body = await _fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200
        assert content_type.startswith("text/plain")
        assert "duban_worker_up 1.0" in body
        assert "# TYPE duban_worker_start_time_seconds gauge" in body

    async def test_sdk_metrics_are_exported(self, dev_server_env: WorkflowEnvironment) -> None:
        """After a workflow runs, the SDK's counters (completed workflows, polls) appear on /metrics."""
        registry = CollectorRegistry()
        runtime, collector = metrics_runtime(registry)
        env_client = dev_server_env.client
        client = await Client.connect(
            env_client.service_client.config.target_host, namespace=env_client.namespace, runtime=runtime
        )
        task_queue = f"health-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=task_queue, workflows=[Noop]):
            await client.execute_workflow(Noop.run, id=f"noop-{uuid.uuid4()}", task_queue=task_queue)

        async def check() -> bool:
            return True

        async with HealthServer("127.0.0.1", 0, check, registry, collector) as server:
            _, _, body = await _fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert "temporal_workflow_completed" in body
        assert 'task_queue="' + task_queue + '"' in body
