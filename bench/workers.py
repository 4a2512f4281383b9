"""The fan-out with one and with two worker processes on a shared sent-ledger, side by side.

The same workload each time (`units` units in cycles of `shard`, every notice at once), on the
bench's dev server and sink, with the ledger in the data directory's SQLite file (both workers on
one host share it) and in PostgreSQL (Debian's package, fsync on, as tests/postgres.py starts it):
start → every notice accepted by the sink, each worker's CPU, and how the mail batches split
between the workers (from the histories: which identity ran each `send_batch`).
"""

import asyncio
import contextlib
import os
import time
from collections import Counter
from typing import Any

from activities.records import Records
from bench.fanout import Workload, workload
from bench.stack import Stack, WorkerProc
from tests.postgres import start_cluster

PROCESS_COUNTS = (1, 2)


async def _batches_by_worker(stack: Stack, w: Workload, workers: list[WorkerProc]) -> list[int]:
    """Mail batches each worker ran (the identity on each `send_batch`'s started event)."""
    assert stack.client is not None
    ran: Counter[str] = Counter()
    for inp in w.inputs:
        assert inp.spec is not None
        handle = stack.client.get_workflow_handle(inp.spec.cycle_id)
        # An activity's started event is written when it completes: wait for the last batch's result.
        for _ in range(300):
            if not (await handle.describe()).raw_description.pending_activities:
                break
            await asyncio.sleep(0.1)
        history = await handle.fetch_history()
        sends = {
            e.event_id
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "send_batch"
        }
        for e in history.events:
            started = e.activity_task_started_event_attributes
            if e.HasField("activity_task_started_event_attributes") and started.scheduled_event_id in sends:
                ran[started.identity] += 1
    host = os.uname().nodename
    return [ran[f"{p.proc.pid}@{host}"] for p in workers]


async def _one(
    stack: Stack, tag: str, units: int, shard: int, processes: int, url: str | None, within: float
) -> dict[str, Any]:
    assert stack.client is not None
    w = workload(tag, units, shard, 3600)  # the reminder far away: only the notices are measured
    out: dict[str, Any] = {"processes": processes, "cycles": w.shards}
    async with contextlib.AsyncExitStack() as running:
        workers = [await running.enter_async_context(stack.worker("duban", records_url=url)) for _ in range(processes)]
        t0 = time.time()
        await asyncio.gather(
            *(
                stack.client.start_workflow(
                    "ReportingCycle",
                    inp,
                    id=inp.spec.cycle_id,
                    task_queue=stack.settings.temporal.task_queue,  # type: ignore[union-attr]
                )
                for inp in w.inputs
            )
        )
        got = await stack.arrivals.wait_for(f"cycle:{tag}:", units, {"notice"}, within)
        out["notices"] = len(got)
        out["fanout_s"] = round(max(a.at for a in got) - t0, 3) if len(got) >= units else None
        out["batches_by_worker"] = await _batches_by_worker(stack, w, workers)
        await asyncio.gather(
            *(stack.client.get_workflow_handle(i.spec.cycle_id).terminate("benchmark: measured") for i in w.inputs)  # type: ignore[union-attr]
        )
    out["worker_cpu_s"] = [round(p.cpu, 2) for p in workers]
    return out


async def run_workers(stack: Stack, tag: str, units: int, shard: int, within: float) -> dict[str, Any]:
    """Each ledger, one then two worker processes; the PostgreSQL cluster is this scenario's own."""
    rows: list[dict[str, Any]] = []
    cluster = start_cluster(durable=True)
    try:
        postgres = await cluster.new_database()
        records = Records(postgres)
        await records.upgrade()  # the migration Job's work, before any worker starts
        await records.dispose()
        for ledger, url in (("sqlite", None), ("postgresql", postgres)):
            for n in PROCESS_COUNTS:
                row = await _one(stack, f"{tag}{ledger[0]}{n}", units, shard, n, url, within)
                rows.append({"ledger": ledger, **row})
    finally:
        cluster.stop()
    return {"units": units, "shard": shard, "rows": rows}
