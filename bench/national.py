"""The national simulation: province → city → county offices, each its own `ReportingCycle`.

Every office runs a cycle of ~30 units; a county's and a city's cycle count as
one unit of the office above, and their roll-up is submitted into that cycle by
the `forward_upward` activity (`UpperOffice.campaign` / `as_unit`). Member
units hand in at random moments spread over a window (the period, compressed
to minutes); the simulation is complete when every cycle has closed, i.e. when
every province has received the roll-up of every city, and every city of every
county.
"""

import asyncio
import datetime as dt
import heapq
import random
import time
from typing import Any

from temporalio.service import RPCError

from bench import plans
from bench.fanout import _ids, _wait_closed
from bench.measure import gather_limited, history_cost, submit, summary, timed
from bench.stack import Stack
from schemas.cycle import CycleStatus, SubmitReport

CALLERS = 48
HISTORY_SAMPLE = 60


async def run_national(
    stack: Stack,
    tag: str,
    units: int,
    office_units: int,
    window_s: float,
    due_min: int,
    within: float,
    cities_per_province: int = 11,
    counties_per_city: int = 9,
) -> dict[str, Any]:
    assert stack.client is not None
    client, log = stack.client, stack.arrivals
    tree = plans.national(units, office_units, cities_per_province, counties_per_city)
    offices = tree.offices()
    ob = plans.minute_obligation(due_min, remind_before_min=1)
    opened = dt.datetime.now(dt.UTC)
    inputs = {o.office_id: plans.cycle_input(plans.national_plan(tag, o, ob), opened) for o in offices}
    levels = {lvl: sum(1 for o in offices if o.level == lvl) for lvl in ("province", "city", "county")}
    out: dict[str, Any] = {
        "offices": len(offices),
        "levels": levels,
        "units": tree.units(),
        "member_units": tree.leaf_units(),
        "office_units": office_units,
        "window_s": window_s,
    }
    queue = stack.settings.temporal.task_queue
    rng = random.Random(9)
    db0, cpu0 = stack.sqlite_bytes(), stack.server_cpu()
    async with stack.worker("duban") as worker:
        t0 = time.time()
        # Lowest offices first, so that an upper cycle exists by the time a roll-up looks for it.
        order = sorted(offices, key=lambda o: {"province": 0, "city": 1, "county": 2}[o.level])
        await gather_limited(
            [
                lambda i=inputs[o.office_id]: client.start_workflow(
                    "ReportingCycle",
                    i,
                    id=i.spec.cycle_id,
                    task_queue=queue,  # type: ignore[union-attr]
                )
                for o in order
            ],
            32,
        )
        out["start_s"] = round(time.time() - t0, 2)

        # Each member unit hands in once, at a random moment of the window.
        plan: list[tuple[float, str, str]] = []
        for o in offices:
            cid = inputs[o.office_id].spec.cycle_id  # type: ignore[union-attr]
            plan += [(t0 + rng.uniform(0, window_s), cid, m) for m in o.members]
        heapq.heapify(plan)
        stats: dict[str, int] = {}
        latencies: list[float] = []
        probes: dict[str, Any] = {}

        async def caller() -> None:
            while plan:
                at, cid, unit = heapq.heappop(plan)
                await asyncio.sleep(max(0.0, at - time.time()))
                latencies.append(
                    await submit(client.get_workflow_handle(cid), SubmitReport(unit_id=unit, title="总结"), stats)
                )

        async def probe() -> None:
            # Halfway through the window: the board of a province, a unit search across every cycle.
            await asyncio.sleep(window_s / 2)
            try:
                await measure_probes()
            except RPCError as err:  # a query that times out under the burst is a finding, not a crash
                probes["probe_error"] = f"{type(err).__name__}: {err}"

        async def measure_probes() -> None:
            prov = client.get_workflow_handle(inputs[tree.provinces[0].office_id].spec.cycle_id)  # type: ignore[union-attr]
            st, _ = await timed(lambda: prov.query("get_status", result_type=CycleStatus), 5)
            unit = rng.choice(offices).members[0]
            ls, found = await timed(
                lambda: _ids(client, f"DubanCampaign = '{tag}' AND DubanPendingUnits = '{unit}'"), 3
            )
            cnt, _ = await timed(lambda: client.count_workflows(f"DubanCampaign = '{tag}' AND DubanStage = 'open'"), 3)
            probes.update(
                get_status_s=summary(st), listing_s=summary(ls), count_s=summary(cnt), listing_found=len(found)
            )

        base = f"WorkflowType = 'ReportingCycle' AND DubanCampaign = '{tag}'"
        try:
            # `within` bounds the whole simulation: past it, what was done so far is the result.
            await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(CALLERS)), probe()), within)
            out["submitted_s"] = round(time.time() - t0, 2)
            closed = await _wait_closed(client, base, max(1.0, within - (time.time() - t0)))
        except TimeoutError:
            closed = False
        out["submissions"] = {"n": len(latencies), "latency_s": summary(latencies), "retries": stats.get("retries", 0)}
        out.update(probes)
        out["complete_s"] = round(time.time() - t0, 2) if closed else None
        out["all_closed"] = closed
        out["stopped_s"] = round(time.time() - t0, 2)
        out["cycles_closed"] = (await client.count_workflows(f"{base} AND ExecutionStatus = 'Completed'")).count
        notices = log.matching(f"cycle:{tag}:", {"notice"})
        out["notices"] = len(notices)
        out["notices_s"] = round(max(a.at for a in notices) - t0, 2) if notices else None
        out["mails"] = len(log.matching(f"cycle:{tag}:"))
        top = client.get_workflow_handle(inputs[tree.provinces[0].office_id].spec.cycle_id)  # type: ignore[union-attr]
        try:
            final = await top.query("get_status", result_type=CycleStatus)
            out["province_submitted"] = f"{final.counts.get('submitted', 0)}/{final.counts.get('total', 0)}"
        except RPCError as err:
            out["province_submitted"] = f"no answer ({err})"
    sample = rng.sample(list(inputs.values()), min(HISTORY_SAMPLE, len(inputs)))
    costs = await gather_limited([lambda i=i: history_cost(client, i.spec.cycle_id) for i in sample], 8)  # type: ignore[union-attr]
    sampled_units = sum(len(i.spec.units) for i in sample)  # type: ignore[union-attr]
    out["history_events_per_unit"] = round(sum(c[0] for c in costs) / sampled_units, 2)
    out["history_bytes_per_unit"] = round(sum(c[1] for c in costs) / sampled_units)
    out["sqlite_bytes_per_unit"] = round((stack.sqlite_bytes() - db0) / tree.units())
    out["server_cpu_s"] = round(stack.server_cpu() - cpu0, 1)
    out["worker_cpu_s"] = round(worker.cpu, 1)
    out["worker_peak_mb"] = round(worker.peak_mb, 1)
    out["server_peak_mb"] = round(stack.server_peak_mb(), 1)
    return out
