"""The Temporal SDK metric names the alert rules use are the names the SDK's Prometheus exporter produces.

A worker on a runtime with the SDK's own PrometheusConfig (what duban's worker exports
with) runs a workflow whose first task fails and an activity; the scrape must then
hold every `temporal_*` series deploy/monitoring/duban-alerts.yaml selects.
"""

import socket
import uuid
from datetime import timedelta

import httpx
import promql_parser
import pytest
import yaml
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.unit.test_alert_rules import RULES, metric_names

pytestmark = pytest.mark.devserver
FAILED_ONCE: set[str] = set()


@activity.defn
async def touch() -> str:
    return "ok"


@workflow.defn(sandboxed=False)
class FailsOnce:
    @workflow.run
    async def run(self) -> str:
        if workflow.info().workflow_id not in FAILED_ONCE:
            FAILED_ONCE.add(workflow.info().workflow_id)
            raise RuntimeError("first task fails, so the failure counter exists")
        return await workflow.execute_activity(touch, start_to_close_timeout=timedelta(seconds=10))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_every_sdk_series_in_the_rules_is_exported(dev_server_env: WorkflowEnvironment) -> None:
    """Counters without a suffix, histograms as _bucket/_sum/_count, durations in seconds."""
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}", durations_as_seconds=True))
    )
    env_client = dev_server_env.client
    client = await Client.connect(
        env_client.service_client.config.target_host, namespace=env_client.namespace, runtime=runtime
    )
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[FailsOnce], activities=[touch]):
        result = await client.execute_workflow(FailsOnce.run, id=f"{queue}-wf", task_queue=queue)
    assert result == "ok"
    async with httpx.AsyncClient(timeout=10) as http:
        body = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    exported = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line and not line.startswith("#")}
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    wanted = {
        name
        for group in doc["groups"]
        for rule in group["rules"]
        for name in metric_names(promql_parser.parse(rule["expr"]))
        if name.startswith("temporal_")
    }
    assert wanted, "the rules select no SDK metric"
    assert wanted <= exported, sorted(wanted - exported)
