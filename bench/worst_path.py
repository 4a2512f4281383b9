"""The worst path a plan the check accepts can take, on the dev server: does the cycle still end?

    .venv/bin/python -m bench.worst_path --units 1000 [--can-after-events N]
    .venv/bin/python -m bench --only worst [--worst-units 200,500,1000]   (the same, as a bench scenario)

Every unit is late; the three escalation rungs (the unit's leader and the office,
the leadership, a bulletin 通报 to every unit and the leadership) fall on one
instant; then every unit reports late twice (the second version replaces the
first), a tenth are returned for revision and report again, a tenth asked for an
extension before the deadline and had it approved; the roll-up goes up, late
reports go up as supplements, and the office closes the cycle. A continue-as-new
happens on the way (the dev server is told to suggest it after N events).

Measured: the cycle completes (not terminated), every run's history size in bytes
and events, and the largest single event — against Temporal's warning levels
(10 MB of history, 512 KB a payload). tests/workflows/test_worst_path.py runs a
small office through the same path in CI.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.workflow import UpdateMethodMultiParam

from activities.holidays import load_calendar
from bench.stack import Stack
from console import client_calls
from domain import cycle_spec
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import (
    CYCLE_TASK_TIMEOUT,
    CycleInput,
    DecideExtension,
    OfficeAction,
    RequestExtension,
    ReturnForRevision,
    SubmitReport,
)
from schemas.people import Contact, Person
from schemas.plan import (
    CampaignPlan,
    DocumentInfo,
    DueSpec,
    EscalationStep,
    Obligation,
    Office,
    Period,
    Recipient,
    Unit,
)
from workers.dev.stack import server_limit_args
from workflows.reporting_cycle import ReportingCycle

HISTORY_WARN = 10 * 1024 * 1024
PAYLOAD_WARN = 512 * 1024
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


@dataclass
class Outcome:
    units: int
    status: str
    runs: int
    history_bytes: list[int]
    history_events: list[int]
    largest_event_bytes: int
    seconds: float
    mails: int = 0  # messages the SMTP sink received (set by `measure`, which runs the sink)
    failed_calls: list[str] = field(default_factory=list)  # Updates that failed for good (not refusals)

    @property
    def holds(self) -> bool:
        return (
            self.status == "COMPLETED"
            and max(self.history_bytes) <= HISTORY_WARN
            and self.largest_event_bytes <= PAYLOAD_WARN
        )


def worst_plan(n_units: int) -> CampaignPlan:
    minutes = StepUnit.MINUTES
    obligation = Obligation(
        id="summary",
        title="工作总结",
        period=Period.ONCE,
        unit_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=1)),
        upward_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=3)),
        reminders=[LadderStep(key="1min", offset=1, unit=minutes, urgent=True)],
        escalations=[
            EscalationStep(
                step=LadderStep(key="leader", offset=1, unit=minutes, urgent=True),
                recipients=[Recipient.UNIT_LEADER, Recipient.OFFICE],
            ),
            EscalationStep(
                step=LadderStep(key="leadership", offset=1, unit=minutes, urgent=True),
                recipients=[Recipient.LEADERSHIP],
            ),
            EscalationStep(
                step=LadderStep(key="bulletin", offset=1, unit=minutes, urgent=True),
                recipients=[Recipient.ALL_UNITS, Recipient.LEADERSHIP],
                bulletin=True,
            ),
        ],
        office_reminders=[LadderStep(key="office-1min", offset=1, unit=minutes, urgent=True)],
    )
    units = [
        Unit(
            id=f"w{i:04d}",
            name=f"压力测试单位{i:04d}（市场监督管理局某某分局）",
            contacts=[Person(name=f"联系人{i}", email=f"w{i:04d}@worst.example")],
            leader=Person(name=f"负责人{i}", email=f"leader{i:04d}@worst.example"),
        )
        for i in range(n_units)
    ]
    return CampaignPlan(
        id="worst",
        title="最坏路径",
        document=DocumentInfo(number="雅打假办发〔2017〕2号", title="关于报送工作总结的通知"),
        office=Office(id="worst", name="雅安市打假办", email="office@worst.example"),
        contact=Contact(name="郑继勇", phone="2824527"),
        leadership=[Person(name="组长", email="chief@worst.example")],
        units=units,
        obligations=[obligation],
    )


async def _calls(
    client: Client,
    cycle_id: str,
    method: UpdateMethodMultiParam[[Any, P], R],
    args: list[P],
    failed: list[str],
    concurrency: int = 8,
) -> None:
    """One Update per argument, a few at a time (the server's in-flight limit is 10 per workflow);
    a call that fails for good is noted in `failed` (the run goes on: the outcome says how it ended)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(arg: P) -> None:
        async with gate:
            try:
                await client_calls.update(client, cycle_id, method, arg)
            except client_calls.Rejected:
                raise
            except Exception as err:  # counted and reported, not hidden
                failed.append(f"{type(err).__name__}: {err}"[:200])

    await asyncio.gather(*(one(a) for a in args))


async def _histories(client: Client, workflow_id: str, first_run: str) -> tuple[list[int], list[int], int]:
    sizes, events, largest = [], [], 0
    run_id: str | None = first_run
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        sizes.append(sum(e.ByteSize() for e in history.events))
        events.append(len(history.events))
        largest = max([largest, *(e.ByteSize() for e in history.events)])
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return sizes, events, largest


async def run_worst_path(client: Client, task_queue: str, n_units: int) -> Outcome:
    """Drive one cycle of `n_units` through the worst path (a worker serves `task_queue`); measure its histories."""
    started = time.monotonic()
    p = worst_plan(n_units)
    ob = p.obligations[0]
    now = dt.datetime.now(dt.UTC)
    cal = load_calendar(cycle_spec.calendar_years(now.year), p.timezone)
    cycle_id = f"cycle:worst:worst:summary:{uuid.uuid4().hex[:8]}"
    spec = cycle_spec.build_spec(cycle_spec.template_for(p, ob), "2026-T", now.year, now, cal, cycle_id)
    unit_ids = [u.id for u in p.units]
    tenth = unit_ids[: max(1, n_units // 10)]
    failed: list[str] = []
    handle = await client.start_workflow(
        "ReportingCycle",
        CycleInput(spec=spec),
        id=cycle_id,
        task_queue=task_queue,
        task_timeout=CYCLE_TASK_TIMEOUT,
    )
    first_run = handle.first_execution_run_id or handle.result_run_id or ""
    later = (now + dt.timedelta(days=20)).date()
    # Before the deadline: a tenth ask for more time, the office approves (to a date in the future).
    await _calls(
        client,
        cycle_id,
        ReportingCycle.request_extension,
        [RequestExtension(unit_id=u, reason="材料待盖章", wanted=later) for u in tenth],
        failed,
    )
    await _calls(
        client,
        cycle_id,
        ReportingCycle.decide_extension,
        [DecideExtension(unit_id=u, approve=True, by="op") for u in tenth],
        failed,
    )
    # Past the deadline and the three escalation rungs at one instant (due + 1 min).
    await asyncio.sleep(
        max(0.0, (spec.opened_at + dt.timedelta(minutes=2, seconds=20) - dt.datetime.now(dt.UTC)).total_seconds())
    )
    for version in (1, 2):
        await _calls(
            client,
            cycle_id,
            ReportingCycle.submit_report,
            [SubmitReport(unit_id=u, title=f"工作总结（第{version}稿）") for u in unit_ids],
            failed,
        )
    await _calls(
        client,
        cycle_id,
        ReportingCycle.return_for_revision,
        [ReturnForRevision(unit_id=u, reason="数据有误", new_due=later, by="op") for u in tenth],
        failed,
    )
    await _calls(
        client,
        cycle_id,
        ReportingCycle.submit_report,
        [SubmitReport(unit_id=u, title="工作总结（修改稿）") for u in tenth],
        failed,
    )
    await asyncio.sleep(5)  # the supplement goes up
    # Every unit has settled by now, so the cycle may have closed itself; otherwise the office closes it.
    with contextlib.suppress(client_calls.Rejected):
        await _calls(client, cycle_id, ReportingCycle.close, [OfficeAction(reason="worst path done", by="op")], failed)
    final = client.get_workflow_handle(cycle_id)
    with contextlib.suppress(Exception):  # the status below says how it ended
        await asyncio.wait_for(final.result(), timeout=600)
    desc = await final.describe()
    status = WorkflowExecutionStatus(desc.status).name if desc.status else "UNKNOWN"
    sizes, events, largest = await _histories(client, cycle_id, first_run)
    outcome = Outcome(n_units, status, len(sizes), sizes, events, largest, round(time.monotonic() - started, 1))
    outcome.failed_calls = failed
    return outcome


async def measure(n_units: int, can_after_events: int = 0) -> Outcome:
    """One worst path on its own stack (bench/stack.py: dev server on SQLite, SMTP sink, and duban's
    production worker as a separate process, as deployed), in a temporary folder."""
    extra = server_limit_args()
    if can_after_events:
        extra += ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={can_after_events}"]
    with tempfile.TemporaryDirectory(prefix="duban-worst-") as tmp:
        stack = Stack(Path(tmp), server_args=extra)
        client = await stack.start()
        try:
            async with stack.worker("duban"):
                outcome = await run_worst_path(client, stack.settings.temporal.task_queue, n_units)
            outcome.mails = len(stack.arrivals.poll())
        finally:
            stack.stop()
    return outcome


def figures(outcome: Outcome) -> dict[str, Any]:
    return {**asdict(outcome), "holds": outcome.holds}


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.worst_path", description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument(
        "--can-after-events", type=int, default=0, help="suggest continue-as-new after N events (0: default)"
    )
    args = ap.parse_args(argv)
    outcome = await measure(args.units, args.can_after_events)
    print(json.dumps(figures(outcome), ensure_ascii=False))
    return 0 if outcome.holds else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
