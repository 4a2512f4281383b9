"""A small live stack for the operator surfaces: the session's dev server, a worker on its own task
queue, a real SMTP sink, and helpers to open reporting cycles with a few units.

Import the fixtures by name into a test module (`from tests.e2e.cycle_stack import cycle_stack_fixture`).
"""

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.holidays import load_calendar
from console import client_calls as calls
from schemas.calendar import DueRule, RuleKind
from schemas.cycle import CycleInput, CycleSpec, CycleStatus, CycleUnit
from schemas.people import Person
from schemas.plan import DueSpec, Obligation, Office, Period
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import build_worker

UNITS = {"unit-a": "甲单位", "unit-b": "乙单位", "unit-c": "丙单位"}


@dataclass
class CycleStack:
    client: Client
    settings: Settings
    sink: SmtpSink
    campaign: str

    def env(self) -> dict[str, str]:
        """Environment for `duban` subprocesses talking to this stack."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        s = self.settings
        env.update(
            DUBAN_DATA_DIR=str(s.data_dir),
            DUBAN_TEMPORAL__ADDRESS=s.temporal.address,
            DUBAN_TEMPORAL__TASK_QUEUE=s.temporal.task_queue,
            DUBAN_PAYLOAD_KEYS=s.payload_keys.get_secret_value() if s.payload_keys else "",
            DUBAN_PUBLIC_URL=s.public_url,
            DUBAN_LOG_JSON="true",
        )
        return env

    async def open_cycle(
        self,
        name: str,
        *,
        opened_days_ago: int = 0,
        due_days: int = 10,
        units: dict[str, str] | None = None,
        office_id: str = "test-office",
        period: str = "2026-Y",
    ) -> WorkflowHandle[object, CycleStatus]:
        """Start a cycle whose units are due `due_days` days after opening (Civil Code day count)."""
        opened = dt.datetime.now(dt.UTC) - dt.timedelta(days=opened_days_ago)
        office = Office(id=office_id, name="测试打假办", email="office@duban.example")
        obligation = Obligation(
            id=name,
            title=f"{name} 工作总结",
            period=Period.ONCE,
            unit_due=DueSpec(after=DueRule(kind=RuleKind.DAYS, n=due_days)),
        )
        wanted = units or UNITS
        spec = CycleSpec(
            cycle_id=f"cycle:{self.campaign}:{office_id}:{name}:{period}",
            campaign_id=self.campaign,
            campaign_title="测试专项行动",
            office=office,
            period=period,
            period_year=opened.year,
            obligation=obligation,
            units=[
                CycleUnit(id=uid, name=uname, contacts=[Person(name=f"{uname}联络员", email=f"{uid}@units.example")])
                for uid, uname in wanted.items()
            ],
            opened_at=opened,
            calendar=load_calendar(range(opened.year - 1, opened.year + 2)),
        )
        handle: WorkflowHandle[object, CycleStatus] = await self.client.start_workflow(
            "ReportingCycle",
            CycleInput(spec=spec),
            id=spec.cycle_id,
            task_queue=self.settings.temporal.task_queue,
            result_type=CycleStatus,
        )
        await self.wait_listed(spec.cycle_id)
        return handle

    async def wait_listed(self, cycle_id: str, wait_s: float = 10.0) -> None:
        """Visibility lags a start by a few milliseconds; wait until the board can see the cycle."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            refs = await calls.list_cycles(self.client, self.campaign)
            if any(r.cycle_id == cycle_id and r.stage for r in refs):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{cycle_id} never appeared in visibility")

    def mail_to(self, address: str) -> list[str]:
        """Raw text of every caught message delivered to `address`."""
        out = []
        for msg in self.sink.messages():
            if address in (msg.get("X-Duban-Envelope-To") or ""):
                out.append(msg.as_string())
        return out


@pytest.fixture(scope="module", name="cycle_stack")
async def cycle_stack_fixture(
    dev_server_env: WorkflowEnvironment, payload_keys: SecretStr, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CycleStack]:
    """A worker and an SMTP sink on the session's dev server, a fresh campaign id per module."""
    data_dir: Path = tmp_path_factory.mktemp("cycle-var")
    sink = SmtpSink("127.0.0.1", free_port(), data_dir / "mail")
    sink.start()
    target = dev_server_env.client.service_client.config.target_host
    settings = Settings(
        data_dir=data_dir,
        payload_keys=payload_keys,
        log_json=True,
        temporal=TemporalSettings(address=target, task_queue=f"test-{uuid.uuid4().hex[:12]}"),
        smtp=SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=5.0),
        console_port=(console_port := free_port()),
        public_url=f"http://127.0.0.1:{console_port}",
    )
    client = await calls.connect(settings)
    worker = build_worker(client, settings)
    try:
        async with worker:
            yield CycleStack(client=client, settings=settings, sink=sink, campaign=f"t{uuid.uuid4().hex[:8]}")
    finally:
        sink.stop()
