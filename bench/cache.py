"""Worker memory per cached cycle: what `DUBAN_TEMPORAL__MAX_CACHED_WORKFLOWS` costs, by cycle size.

For each cycle size, one fresh worker: open `k1` cycles, wait until every notice is out
(each cycle then sits in the sticky cache, sleeping until a deadline an hour away),
query each once and read the worker's resident memory; then open more, up to `k2`,
and read it again. The slope between the two readings is the memory one more cached
cycle costs; the one-time costs (imports, the sandbox's first module loads) fall
out of the difference.
"""

import asyncio
import datetime as dt
from typing import Any

from temporalio.client import WorkflowHandle

from bench import plans, procinfo
from bench.measure import gather_limited
from bench.stack import Stack


async def run_cache(stack: Stack, tag: str, sizes: list[tuple[int, int, int]], within: float) -> list[dict[str, Any]]:
    """`sizes`: (units per cycle, cycles at the first reading, cycles at the second)."""
    assert stack.client is not None
    client = stack.client
    queue = stack.settings.temporal.task_queue
    rows = []
    for units, k1, k2 in sizes:
        ob = plans.minute_obligation(due_min=60)
        row: dict[str, Any] = {"units": units, "cycles": [k1, k2]}
        handles: list[WorkflowHandle[Any, Any]] = []
        async with stack.worker("duban") as worker:
            await asyncio.sleep(1.0)
            row["idle_rss_mb"] = round(procinfo.rss_mb(worker.proc.pid), 1)
            readings = []
            for count in (k1, k2):
                start = len(handles)
                opened = dt.datetime.now(dt.UTC)
                for i in range(start, count):
                    office = f"{tag}u{units}o{i}"
                    inp = plans.cycle_input(plans.office_plan(tag, office, plans.unit_ids(office, units), ob), opened)
                    assert inp.spec is not None
                    handles.append(
                        await client.start_workflow("ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=queue)
                    )
                await stack.arrivals.wait_for(f"cycle:{tag}:{tag}u{units}o", count * units, {"notice"}, within)
                # A query per cycle: each must be live in the cache (a miss would replay it into the cache).
                await gather_limited([lambda h=h: h.query("get_status") for h in handles], 8)
                await asyncio.sleep(2.0)
                readings.append(procinfo.rss_mb(worker.proc.pid))
            per_cycle = (readings[1] - readings[0]) / (k2 - k1)
            row["rss_mb"] = [round(r, 1) for r in readings]
            row["mb_per_cached_cycle"] = round(per_cycle, 3)
            row["kb_per_unit"] = round(per_cycle * 1024 / units, 1)
        await asyncio.gather(*(h.terminate("benchmark: cache measured") for h in handles))
        row["peak_rss_mb"] = round(worker.peak_mb, 1)
        rows.append(row)
    return rows
