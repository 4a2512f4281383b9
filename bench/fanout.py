"""One cycle with N units, duban against the naive design, on one server.

In one pass per design: fan-out (start → every notice accepted by the sink),
`get_status` and visibility listing while every unit is pending, reminder
lateness (scheduled moment → accepted by the sink), every unit submitting on
time, and the cycle's server cost on that normal path (history events and bytes
per unit, SQLite bytes per unit), with the worker's and server's memory and CPU.
"""

import asyncio
import datetime as dt
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench import floor, plans
from bench.measure import gather_limited, history_cost, submit, summary, timed
from bench.naive import NAIVE_WORKFLOW, NaiveInput
from bench.stack import Arrival, ArrivalLog, Stack
from bench.worker import NAIVE_QUEUE_SUFFIX
from console import client_calls as calls
from domain import cycle_notices as notices
from domain import timeline
from schemas.cycle import CycleInput, CycleStatus, SubmitReport, UnitState
from schemas.notify import Notification, Template
from schemas.visibility import CAMPAIGN, OFFICE, STAGE
from workers.retrying import answered_within

REMINDER_TEMPLATES = frozenset({"reminder", "due_today"})
PER_CYCLE_CALLERS = 8  # under the server's 10 in-flight Updates per workflow
NAIVE_CALLERS = 64
HISTORY_SAMPLE = 100


@dataclass
class Workload:
    tag: str
    units: int
    inputs: list[CycleInput]

    @property
    def shards(self) -> int:
        return len(self.inputs)


def workload(tag: str, units: int, shard: int, lead_s: float) -> Workload:
    """`units` units in cycles of at most `shard` units; the reminder `lead_s` seconds from now, due 3 minutes later."""
    ob = plans.minute_obligation(due_min=4, remind_before_min=3)
    opened = plans.opened_for(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead_s), 1)
    inputs = []
    for k in range(math.ceil(units / shard)):
        size = min(shard, units - k * shard)
        office = f"o{k}"
        inputs.append(plans.cycle_input(plans.office_plan(tag, office, plans.unit_ids(office, size), ob), opened))
    return Workload(tag, units, inputs)


def notice_batches(w: Workload) -> list[list[Notification]]:
    """The notices each cycle sends at opening, exactly as `ReportingCycle._open` builds them."""
    out = []
    for inp in w.inputs:
        spec = inp.spec
        assert spec is not None
        due = timeline.unit_due(spec)
        batch: list[Notification] = []
        for u in spec.units:
            batch += notices.unit_message(
                spec, UnitState(unit_id=u.id, due=due), "notice", Template.NOTICE, invite=True
            )
        out.append(batch)
    return out


def _span(arrivals: list[Arrival], t0: float, expected: int) -> float | None:
    return round(max(a.at for a in arrivals) - t0, 3) if len(arrivals) >= expected and arrivals else None


def _lateness(arrivals: list[Arrival], moment: dt.datetime) -> dict[str, Any]:
    late = [a.at - moment.timestamp() for a in arrivals]
    out: dict[str, Any] = summary(late)
    if late:
        out["first"] = round(min(late), 3)
    return out


async def _wait_closed(client: Client, query: str, within: float) -> bool:
    async def all_closed() -> bool:
        return (await client.count_workflows(f"{query} AND ExecutionStatus = 'Running'")).count == 0

    return await answered_within(all_closed, every=1.0, within=within)


PROBE_SPACING_S = 1.5


async def _probe_lateness(stack: Stack, tag: str, count: int, within: float) -> dict[str, Any]:
    """Lateness of single reminders while every unit of the run is still pending.

    The all-at-once figure above is bounded by how fast mail goes out (the last of N
    reminders waits for N-1 others). This one asks the other question: does a large
    pending load make a timer late? `count` one-unit cycles, reminders PROBE_SPACING_S apart.
    """
    assert stack.client is not None
    starts = 10.0  # seconds for the probes' notices to go out before the first reminder
    probes = [workload(f"{tag}{i}", 1, 1, starts + i * PROBE_SPACING_S) for i in range(count)]
    handles = await asyncio.gather(
        *(
            stack.client.start_workflow(
                "ReportingCycle", p.inputs[0], id=p.inputs[0].spec.cycle_id,  # type: ignore[union-attr]
                task_queue=stack.settings.temporal.task_queue,
            )
            for p in probes
        )
    )  # fmt: skip
    late: list[float] = []
    for p in probes:
        moment = plans.reminder_moment(p.inputs[0].spec)  # type: ignore[arg-type]
        wait = max(0.0, moment.timestamp() - time.time()) + within
        got = await stack.arrivals.wait_for(f"cycle:{p.tag}:", 1, REMINDER_TEMPLATES, wait)
        late += [a.at - moment.timestamp() for a in got]
    await asyncio.gather(*(h.terminate("benchmark: probe measured") for h in handles))
    return summary(late)


async def _campaign_board(client: Client, campaign: str) -> list[CycleStatus]:
    return await calls.statuses(client, await calls.list_cycles(client, campaign))


async def run_duban(stack: Stack, w: Workload, within: float, probes: int = 20) -> dict[str, Any]:
    assert stack.client is not None
    client, queue, log = stack.client, stack.settings.temporal.task_queue, stack.arrivals
    prefix = f"cycle:{w.tag}:"
    base = f"WorkflowType = 'ReportingCycle' AND DubanCampaign = '{w.tag}'"
    out: dict[str, Any] = {"design": "duban", "units": w.units, "cycles": w.shards}
    db0, cpu0 = stack.sqlite_bytes(), stack.server_cpu()
    async with stack.worker("duban") as worker:
        t0 = time.time()
        handles: list[WorkflowHandle[Any, CycleStatus]] = await asyncio.gather(
            *(
                client.start_workflow("ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=queue)  # type: ignore[union-attr]
                for inp in w.inputs
            )
        )
        got = await log.wait_for(prefix, w.units, {"notice"}, within)
        out["notices"] = len(got)
        out["fanout_s"] = _span(got, t0, w.units)
        await asyncio.sleep(1.0)  # the first publish of search attributes follows the notice batch
        dead = [h for h in handles if (await h.describe()).status != WorkflowExecutionStatus.RUNNING]
        if dead:
            out["failure"] = f"{len(dead)} of {len(handles)} cycles ended: {await _last_failure(dead[0])}"
            return out

        status, board = await timed(lambda: handles[0].query("get_status", result_type=CycleStatus), 10)
        out["get_status_s"] = summary(status)
        out["get_status_units"] = len(board.units)
        # The campaign's whole board, as `duban status` and the console build it: list, then every cycle's get_status.
        whole, boards = await timed(lambda: _campaign_board(client, w.tag), 5)
        out["board_s"] = summary(whole)
        out["board_units"] = sum(len(b.units) for b in boards)
        probe = random.choice(w.inputs[0].spec.units).id  # type: ignore[union-attr]
        listing, found = await timed(lambda: _ids(client, f"{base} AND DubanPendingUnits = '{probe}'"), 5)
        out["listing_s"] = summary(listing)
        out["listing_found"] = len(found)

        moment = plans.reminder_moment(w.inputs[0].spec)  # type: ignore[arg-type]
        wait = max(0.0, moment.timestamp() - time.time()) + within
        reminders = await log.wait_for(prefix, w.units, REMINDER_TEMPLATES, wait)
        out["reminders"] = len(reminders)
        out["reminder_lateness_s"] = _lateness(reminders, moment)

        out["probe_lateness_s"] = await _probe_lateness(stack, f"{w.tag}p", probes, within)

        stats: dict[str, int] = {}
        t_sub = time.perf_counter()

        async def cycle_submissions(handle: WorkflowHandle[Any, Any], inp: CycleInput) -> list[float]:
            calls = [
                lambda u=u.id: submit(handle, SubmitReport(unit_id=u, title="工作总结"), stats)
                for u in inp.spec.units  # type: ignore[union-attr]
            ]
            return await gather_limited(calls, PER_CYCLE_CALLERS)

        lat = [
            x
            for xs in await asyncio.gather(*(cycle_submissions(h, i) for h, i in zip(handles, w.inputs, strict=True)))
            for x in xs
        ]
        sub_s = time.perf_counter() - t_sub
        out["submissions"] = {
            "n": len(lat),
            "seconds": round(sub_s, 3),
            "per_s": round(len(lat) / sub_s, 1),
            "latency_s": summary(lat),
            "retries": stats.get("retries", 0),
        }
        closed = await _wait_closed(client, base, within)
        out["complete_s"] = round(time.time() - t0, 3) if closed else None
        receipts = await log.wait_for(prefix, w.units, {"receipt"}, 30)
        out["receipts"] = len(receipts)
    out.update(await _costs(stack, [h.id for h in handles], w.units, db0, cpu0, worker.peak_mb, worker.cpu))
    return out


async def run_naive(stack: Stack, w: Workload, within: float, full: bool = True) -> dict[str, Any]:
    """`full=False` measures the fan-out (and the board listing) only: at 10,000 units the naive
    design's reminder and submission phases would take longer than the whole rest of the run."""
    assert stack.client is not None
    client, log = stack.client, stack.arrivals
    queue = stack.settings.temporal.task_queue + NAIVE_QUEUE_SUFFIX
    prefix = f"naive:{w.tag}:"
    base = f"WorkflowType = '{NAIVE_WORKFLOW}' AND DubanCampaign = '{w.tag}'"
    specs = [s for inp in w.inputs for s in plans.single_unit_specs(inp.spec, prefix)]  # type: ignore[arg-type]
    out: dict[str, Any] = {"design": "naive", "units": w.units, "workflows": len(specs)}
    db0, cpu0 = stack.sqlite_bytes(), stack.server_cpu()
    async with stack.worker("naive") as worker:
        t0 = time.time()

        def start(wid: str, spec: Any) -> Any:
            attrs = TypedSearchAttributes(
                [
                    SearchAttributePair(CAMPAIGN, w.tag),
                    SearchAttributePair(OFFICE, spec.office.id),
                    SearchAttributePair(STAGE, "open"),
                ]
            )
            return lambda: client.start_workflow(
                NAIVE_WORKFLOW, NaiveInput(spec=spec), id=wid, task_queue=queue, search_attributes=attrs
            )

        handles = await gather_limited([start(wid, s) for wid, s in specs], NAIVE_CALLERS)
        out["start_s"] = round(time.time() - t0, 3)
        got = await log.wait_for(prefix, w.units, {"notice"}, within)
        out["notices"] = len(got)
        out["fanout_s"] = _span(got, t0, w.units)

        status, _ = await timed(lambda: handles[0].query("get_status"), 10)
        out["get_status_s"] = summary(status)  # one unit's workflow only: a board needs the listing below
        board, rows = await timed(lambda: _ids(client, base), 3)
        out["board_listing_s"] = summary(board)
        out["board_rows"] = len(rows)

        if full:
            await _naive_rest(stack, w, specs, handles, out, t0, within)
        else:
            out["phases"] = "fan-out only: history counts the notice part of each unit's workflow"
    sample = random.sample([wid for wid, _ in specs], min(HISTORY_SAMPLE, len(specs)))
    out.update(await _costs(stack, sample, len(sample), db0, cpu0, worker.peak_mb, worker.cpu, w.units))
    return out


async def _naive_rest(
    stack: Stack,
    w: Workload,
    specs: list[tuple[str, Any]],
    handles: list[Any],
    out: dict[str, Any],
    t0: float,
    within: float,
) -> None:
    """Reminder lateness, on-time submissions and completion of the naive design."""
    assert stack.client is not None
    client, log = stack.client, stack.arrivals
    prefix = f"naive:{w.tag}:"
    base = f"WorkflowType = '{NAIVE_WORKFLOW}' AND DubanCampaign = '{w.tag}'"
    moment = plans.reminder_moment(specs[0][1])
    wait = max(0.0, moment.timestamp() - time.time()) + within
    reminders = await log.wait_for(prefix, w.units, REMINDER_TEMPLATES, wait)
    out["reminders"] = len(reminders)
    out["reminder_lateness_s"] = _lateness(reminders, moment)

    stats: dict[str, int] = {}
    t_sub = time.perf_counter()
    calls = [
        lambda h=h, u=s.units[0].id: submit(h, SubmitReport(unit_id=u, title="工作总结"), stats)
        for h, (_, s) in zip(handles, specs, strict=True)
    ]
    lat = await gather_limited(calls, NAIVE_CALLERS)
    sub_s = time.perf_counter() - t_sub
    out["submissions"] = {
        "n": len(lat),
        "seconds": round(sub_s, 3),
        "per_s": round(len(lat) / sub_s, 1),
        "latency_s": summary(lat),
        "retries": stats.get("retries", 0),
    }
    closed = await _wait_closed(client, base, within)
    out["complete_s"] = round(time.time() - t0, 3) if closed else None
    receipts = await log.wait_for(prefix, w.units, {"receipt"}, 30)
    out["receipts"] = len(receipts)


async def _ids(client: Client, query: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(query)]


async def _costs(
    stack: Stack,
    workflow_ids: list[str],
    units_in_sample: int,
    db0: int,
    cpu0: float,
    worker_peak: float,
    worker_cpu: float,
    units_total: int | None = None,
) -> dict[str, Any]:
    """History and storage per unit; for the naive design from a sample of its workflows."""
    assert stack.client is not None
    client = stack.client
    costs = await gather_limited([lambda i=i: history_cost(client, i) for i in workflow_ids], 8)
    events = sum(c[0] for c in costs)
    size = sum(c[1] for c in costs)
    total_units = units_total or units_in_sample
    return {
        "history_events_per_unit": round(events / units_in_sample, 2),
        "history_bytes_per_unit": round(size / units_in_sample),
        "runs": sum(c[2] for c in costs),
        "history_sampled_workflows": len(workflow_ids),
        "sqlite_bytes_per_unit": round((stack.sqlite_bytes() - db0) / total_units),
        "server_cpu_s": round(stack.server_cpu() - cpu0, 2),
        "worker_cpu_s": round(worker_cpu, 2),
        "worker_peak_mb": round(worker_peak, 1),
        "server_peak_mb": round(stack.server_peak_mb(), 1),
    }


async def run_floor(stack: Stack, w: Workload) -> dict[str, Any]:
    """The same notices, same batching (one SMTP session per cycle), no Temporal."""
    result = await floor.floor(stack.settings, f"floor:{w.tag}", notice_batches(w))
    got = stack.arrivals.matching(f"floor:{w.tag}")
    return {"design": "floor", "units": w.units, "sessions": w.shards, "delivered": len(got), **result}


async def single_cycle_attempt(stack: Stack, tag: str, units: int, wait: float) -> dict[str, Any]:
    """Can one cycle hold `units` units? Start it and see how far its notices get in `wait` seconds."""
    assert stack.client is not None
    w = workload(tag, units, units, 600)
    inp = w.inputs[0]
    assert inp.spec is not None
    out: dict[str, Any] = {"units": units, "input_bytes": len(inp.model_dump_json())}
    async with stack.worker("duban"):
        t0 = time.time()
        try:
            handle = await stack.client.start_workflow(
                "ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=stack.settings.temporal.task_queue
            )
        except Exception as err:
            out["started"] = False
            out["error"] = f"{type(err).__name__}: {err}"[:300]
            return out
        out["started"] = True
        got = await stack.arrivals.wait_for(f"cycle:{tag}:", units, {"notice"}, wait)
        out["notices"] = len(got)
        out["fanout_s"] = _span(got, t0, units)
        out["failure"] = await _last_failure(handle)
        await handle.terminate("benchmark: single-cycle attempt over")
    return out


async def _last_failure(handle: WorkflowHandle[Any, Any]) -> str:
    history = await handle.fetch_history()
    for event in reversed(history.events):
        if event.HasField("workflow_execution_terminated_event_attributes"):
            return str(event.workflow_execution_terminated_event_attributes.reason)[:300]
        for attr in ("workflow_task_failed_event_attributes", "workflow_execution_failed_event_attributes"):
            if event.HasField(attr):
                return str(getattr(event, attr).failure.message)[:300]
    return ""


async def fanout_maildir(stack: Stack, units: int, tag: str, within: float) -> dict[str, Any]:
    """Fan-out once more with the dev stack's Maildir sink (every message written to disk)."""
    from workers.dev.ports import free_port

    assert stack.client is not None
    port = free_port()
    log = ArrivalLog(stack.root / f"arrivals-maildir-{tag}.tsv")
    sink = stack.start_sink(port, log.path, maildir=stack.root / f"maildir-{tag}")
    try:
        await stack.wait_smtp(port)
        w = workload(tag, units, units, 600)
        inp = w.inputs[0]
        assert inp.spec is not None
        out: dict[str, Any] = {"units": units}
        async with stack.worker("duban", smtp_port=port):
            t0 = time.time()
            handle = await stack.client.start_workflow(
                "ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=stack.settings.temporal.task_queue
            )
            got = await log.wait_for(f"cycle:{tag}:", units, {"notice"}, within)
            out["duban_fanout_s"] = _span(got, t0, units)
            await handle.terminate("benchmark: maildir fan-out measured")
        # duban's notices only: the floor below writes its own copies into the same Maildir.
        out["maildir_files"] = sum(1 for _ in (stack.root / f"maildir-{tag}" / "new").iterdir())
        settings = stack.settings.model_copy(update={"smtp": stack.settings.smtp.model_copy(update={"port": port})})
        out["floor"] = await floor.floor(settings, f"floor:{tag}", notice_batches(w))
        return out
    finally:
        from bench.stack import _stop

        _stop(sink)
