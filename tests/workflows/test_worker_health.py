"""The worker's /healthz and /metrics: the Temporal SDK's own Prometheus telemetry and duban's gauges.

The last class runs `duban worker --health-port 0` as a process against a dev server
holding a late cycle (SMTP down, so its notices stay unsent), a lead past its first
stage limit and a cycle whose workflow task keeps failing, and scrapes /metrics.
"""

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from schemas.calendar import DueRule, RuleKind
from schemas.plan import CampaignPlan, DueSpec, Period
from tests.conftest import duban_search_attribute_keys
from tests.lead_support import lead_input
from tests.plans import cycle_input, ladder_obligation, plan
from workers.codec import generate_key_line
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.dev.stack import server_limit_args
from workers.health import HealthServer, SdkTelemetry
from workers.settings import Settings
from workers.temporal import data_converter


@workflow.defn(sandboxed=False)
class Noop:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(milliseconds=1))


@workflow.defn(name="ReportingCycle", sandboxed=False)
class BrokenCycle:
    """A cycle whose code fails every workflow task: the server retries it for ever and the cycle is frozen."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug in workflow code")


async def _fetch(url: str) -> tuple[int, str, str]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(url)
    return response.status_code, response.headers["content-type"], response.text


def _samples(page: str, name: str) -> list[float]:
    """The values of every sample of metric `name` (any labels) on a Prometheus text page."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return [float(v) for v in pattern.findall(page)]


def _families(page: str) -> set[str]:
    return set(re.findall(r"^# TYPE (\S+) ", page, re.MULTILINE))


async def _always() -> bool:
    return True


class TestHealthServer:
    async def test_healthz_follows_the_check(self) -> None:
        """200 while the check passes, 503 when it fails or raises, on a port the kernel picked."""
        state = {"ok": False}

        async def check() -> bool:
            if state.get("raise"):
                raise RuntimeError("server gone")
            return state["ok"]

        async with HealthServer("127.0.0.1", 0, check) as server:
            url = f"http://127.0.0.1:{server.port}"
            assert server.port != 0
            assert (await _fetch(url + "/healthz"))[0] == 503
            state["ok"] = True
            status, _, body = await _fetch(url + "/healthz")
            assert (status, body) == (200, "ok\n")
            state["raise"] = True
            assert (await _fetch(url + "/healthz"))[0] == 503
            assert (await _fetch(url + "/nowhere"))[0] == 404

    async def test_sdk_metrics_are_relayed_with_real_histograms(self, dev_server_env: WorkflowEnvironment) -> None:
        """After a workflow runs, /metrics shows the SDK exporter's counters and histograms and the worker gauges."""
        telemetry = SdkTelemetry()
        env_client = dev_server_env.client
        client = await Client.connect(
            env_client.service_client.config.target_host, namespace=env_client.namespace, runtime=telemetry.runtime
        )
        task_queue = f"health-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=task_queue, workflows=[Noop]):
            await client.execute_workflow(Noop.run, id=f"noop-{uuid.uuid4()}", task_queue=task_queue)
        async with HealthServer("127.0.0.1", 0, _always, telemetry) as server:
            status, content_type, page = await _fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200
        assert content_type.startswith("text/plain")
        assert sum(_samples(page, "temporal_workflow_completed")) >= 1
        assert 'task_queue="' + task_queue + '"' in page
        # A histogram, not a summary: buckets, in seconds.
        assert "# TYPE temporal_workflow_task_execution_latency histogram" in page
        assert _samples(page, "temporal_workflow_task_execution_latency_bucket")
        assert _samples(page, "duban_worker_up") == [1.0]
        started = _samples(page, "duban_worker_start_time_seconds")
        assert len(started) == 1 and abs(started[0] - dt.datetime.now(dt.UTC).timestamp()) < 600


# ---- the worker process ---------------------------------------------------------------------

SDK_FAMILIES = (
    "temporal_request",
    "temporal_workflow_task_execution_latency",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_execution_failed",
    "temporal_worker_task_slots_available",
    "temporal_num_pollers",
)
DUBAN_GAUGES = (
    "duban_worker_up",
    "duban_open_cycles",
    "duban_overdue_units",
    "duban_unsent_messages",
    "duban_oldest_unsent_message_age_seconds",
    "duban_leads_past_stage_limit",
    "duban_cycles_failing_workflow_task",
)


@pytest.fixture(scope="module")
async def problems_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[WorkflowEnvironment, Settings]]:
    """A dev server of this module's own that flags a failing workflow task at its first failure
    (the default is 5, about a minute of retries), with a payload key the worker process shares."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("metrics-var"), payload_keys=generate_key_line("metrics-1"))
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bundled_binary("temporal")),
        data_converter=data_converter(settings),
        search_attributes=duban_search_attribute_keys(),
        ip="127.0.0.1",
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            *server_limit_args(),
            "--dynamic-config-value",
            "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=1",
        ],
    ) as env:
        yield env, settings


STUCK_OFFICE = "stuck"


def _minute_plan(campaign: str, office_id: str) -> CampaignPlan:
    """Three units due a minute after opening, no reminders or ladder: the notice, then overdue."""
    obligation = ladder_obligation(
        period=Period.ONCE,
        unit_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=1)),
        upward_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=30)),
        reminders=[],
        escalations=[],
        office_reminders=[],
    )
    return plan(3, obligation=obligation, campaign_id=campaign, office_id=office_id)


@pytest.fixture
def deferring_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """Accepts mail, except that it defers (450) every address of the `stuck` office's plan."""
    people = _minute_plan("any", STUCK_OFFICE).model_dump_json()
    addresses = set(re.findall(r"[\w.-]+@" + STUCK_OFFICE + r"\.example", people))
    server = SmtpSink("127.0.0.1", free_port(), tmp_path / "mail", defer=addresses)
    server.start()
    yield server
    server.stop()


def _worker_env(address: str, settings: Settings, task_queue: str, data_dir: Path, smtp_port: int) -> dict[str, str]:
    assert settings.payload_keys is not None
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")},
        "DUBAN_TEMPORAL__ADDRESS": address,
        "DUBAN_TEMPORAL__TASK_QUEUE": task_queue,
        "DUBAN_PAYLOAD_KEYS": settings.payload_keys.get_secret_value(),
        "DUBAN_DATA_DIR": str(data_dir),
        "DUBAN_SMTP__PORT": str(smtp_port),
        "DUBAN_METRICS_REFRESH_SECONDS": "1",
        "DUBAN_LOG_JSON": "true",
    }


@contextlib.contextmanager
def _duban_worker(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`duban worker --health-port 0` as a process; yields the base URL it announces."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(bundled_binary("duban")), "worker", "--health-host", "127.0.0.1", "--health-port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = None
        for _ in range(300):
            for line in log_path.read_text(errors="replace").splitlines():
                if '"health endpoint listening"' in line:
                    url = json.loads(line)["url"].rsplit("/", 1)[0]
            if url or process.poll() is not None:
                break
            time.sleep(0.1)
        assert url, f"the worker announced no health endpoint:\n{log_path.read_text(errors='replace')[-3000:]}"
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def worker_process(
    problems_server: tuple[WorkflowEnvironment, Settings], deferring_sink: SmtpSink, task_queue: str, tmp_path: Path
) -> Iterator[str]:
    """`duban worker --health-port 0` mailing through the deferring sink; yields its base URL."""
    env, settings = problems_server
    address = env.client.service_client.config.target_host
    child_env = _worker_env(address, settings, task_queue, tmp_path / "var", deferring_sink.port)
    with _duban_worker(child_env, tmp_path / "worker.log") as url:
        yield url


class TestWorkerStartsBeforeTemporal:
    async def test_unhealthy_until_the_server_comes_then_polling(
        self, settings: Settings, task_queue: str, tmp_path: Path
    ) -> None:
        """Started first (as under compose), the worker answers 503, retries with growing waits, then turns 200."""
        port = free_port()
        log_path = tmp_path / "worker.log"
        env = _worker_env(f"127.0.0.1:{port}", settings, task_queue, tmp_path / "var", free_port())
        with _duban_worker(env, log_path) as url:
            assert (await _fetch(url + "/healthz"))[0] == 503
            waits: list[float] = []
            for _ in range(100):
                lines = [json.loads(x) for x in log_path.read_text().splitlines() if "not reachable yet" in x]
                waits = [line["retry_in"] for line in lines]
                if len(waits) >= 3:
                    break
                await asyncio.sleep(0.1)
            assert waits[:3] == [0.5, 1.0, 2.0]  # the backoff doubles from half a second
            async with await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(bundled_binary("temporal")),
                data_converter=data_converter(settings),
                search_attributes=duban_search_attribute_keys(),
                ip="127.0.0.1",
                port=port,
                ui=False,
                dev_server_log_level="error",
            ):
                status = 0
                for _ in range(150):  # the longest wait so far is 10 s
                    status = (await _fetch(url + "/healthz"))[0]
                    if status == 200:
                        break
                    await asyncio.sleep(0.2)
                assert status == 200
                assert "worker polling" in log_path.read_text()


class TestWorkerProcessMetrics:
    async def test_metrics_show_the_sdk_families_and_every_duban_gauge(
        self, problems_server: tuple[WorkflowEnvironment, Settings], worker_process: str, task_queue: str
    ) -> None:
        """A late cycle, a lead past its limit and a frozen cycle show up on /metrics with plausible values."""
        env, _ = problems_server
        client = env.client
        now = dt.datetime.now(dt.UTC)
        campaign = f"metrics{uuid.uuid4().hex[:6]}"
        # Late: due 4 minutes ago, its notices delivered, so it publishes its overdue units.
        late = cycle_input(_minute_plan(campaign, "yaan"), now - timedelta(minutes=5))
        # Stuck: the sink defers all its mail, so its notices stay unsent while the mail activity retries.
        stuck = cycle_input(_minute_plan(campaign, STUCK_OFFICE), now)
        lead = lead_input(now - timedelta(days=30), lead_id=f"lead:{campaign}:1")
        assert late.spec is not None and stuck.spec is not None
        for inp in (late, stuck):
            await client.start_workflow("ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=task_queue)  # type: ignore[union-attr]
        await client.start_workflow("LeadReferral", lead, id=lead.lead_id, task_queue=task_queue)
        broken_queue = f"{task_queue}-broken"
        async with Worker(client, task_queue=broken_queue, workflows=[BrokenCycle]):
            await client.start_workflow("ReportingCycle", id=f"cycle:{campaign}:broken", task_queue=broken_queue)

            async def scrape() -> str:
                status, _, page = await _fetch(worker_process + "/metrics")
                assert status == 200
                return page

            expected = {
                "duban_worker_up": lambda v: v == 1,
                "duban_open_cycles": lambda v: v >= 3,
                "duban_overdue_units": lambda v: v >= 3,
                "duban_unsent_messages": lambda v: v >= 3,
                "duban_oldest_unsent_message_age_seconds": lambda v: 0 < v < 600,
                "duban_leads_past_stage_limit": lambda v: v >= 1,
                "duban_cycles_failing_workflow_task": lambda v: v >= 1,
            }
            page = ""
            for _ in range(120):
                page = await scrape()
                values = {name: _samples(page, name) for name in expected}
                if all(
                    len(v) == 1 and ok(v[0]) for (name, ok), v in zip(expected.items(), values.values(), strict=True)
                ):
                    break
                await asyncio.sleep(0.5)
            values = {name: _samples(page, name) for name in DUBAN_GAUGES}
            for name, ok in expected.items():
                assert len(values[name]) == 1 and ok(values[name][0]), f"{name} = {values[name]}"
            missing = [f for f in SDK_FAMILIES if f not in _families(page)]
            assert not missing, f"SDK metric families missing from /metrics: {missing}"
            # Everything on the page is Prometheus text: a TYPE line for each family, numbers for samples.
            assert "# TYPE duban_open_cycles gauge" in page
        for workflow_id in (late.spec.cycle_id, stuck.spec.cycle_id, lead.lead_id, f"cycle:{campaign}:broken"):
            await client.get_workflow_handle(workflow_id).terminate("test over")
