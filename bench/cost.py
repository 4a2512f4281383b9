"""Server cost per unit per cycle: the normal path and the late path, duban and naive, office-sized.

Normal path: notice, reminder, an on-time submission (receipt), roll-up, close.
Late path: notice, reminder, overdue at the due moment, an escalation to the
unit's leader and the office, a late submission (receipt), roll-up with the
unit missing and then the supplement, close. Both designs run side by side.
"""

import asyncio
import datetime as dt
import time
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench import plans
from bench.fanout import REMINDER_TEMPLATES, _wait_closed
from bench.measure import gather_limited, history_cost, submit
from bench.naive import NAIVE_WORKFLOW, NaiveInput
from bench.stack import Stack
from bench.worker import NAIVE_QUEUE_SUFFIX
from schemas.cycle import SubmitReport
from schemas.visibility import CAMPAIGN

LEAD_S = 8.0  # from the start to the first rung


async def run_cost(stack: Stack, tag: str, units: int, within: float, quick: bool = False) -> dict[str, Any]:
    """Reminder 10 s after the start, due a minute later, escalation a minute after that.

    `quick` (the smoke test) drops the reminder and escalates at the due moment, 10 s after the start.
    """
    assert stack.client is not None
    client, log = stack.client, stack.arrivals
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEAD_S)
    if quick:
        ob = plans.minute_obligation(due_min=1, escalate_after_min=0)
        opened = plans.opened_for(start, 1)
    else:
        ob = plans.minute_obligation(due_min=2, remind_before_min=1)
        opened = plans.opened_for(start, 1)
    cycles = {
        path: plans.cycle_input(plans.office_plan(tag, f"{path}", plans.unit_ids(path, units), ob), opened)
        for path in ("normal", "late")
    }
    naive = {
        path: plans.single_unit_specs(cycles[path].spec, f"naive:{tag}:{path}:")  # type: ignore[arg-type]
        for path in ("normal", "late")
    }
    queue = stack.settings.temporal.task_queue
    handles: dict[tuple[str, str], list[WorkflowHandle[Any, Any]]] = {}
    stats: dict[str, int] = {}
    async with stack.worker("duban"), stack.worker("naive"):
        for path, inp in cycles.items():
            assert inp.spec is not None
            handles[("duban", path)] = [
                await client.start_workflow("ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=queue)
            ]
            attrs = TypedSearchAttributes([SearchAttributePair(CAMPAIGN, tag)])
            handles[("naive", path)] = await gather_limited(
                [
                    lambda wid=wid, s=s: client.start_workflow(
                        NAIVE_WORKFLOW,
                        NaiveInput(spec=s),
                        id=wid,
                        task_queue=queue + NAIVE_QUEUE_SUFFIX,
                        search_attributes=attrs,  # noqa: B023 -- the generator is consumed inside this iteration
                    )
                    for wid, s in naive[path]
                ],
                32,
            )
        # Normal path: everyone hands in after the reminder; late path: after the escalation.
        if not quick:
            await log.wait_for(f"cycle:{tag}:normal", units, REMINDER_TEMPLATES, LEAD_S + within)
            await log.wait_for(f"naive:{tag}:normal", units, REMINDER_TEMPLATES, within)
        await _submit_all(handles, "normal", units, stats)
        await log.wait_for(f"cycle:{tag}:late", units, {"escalation"}, 3 * 60 + within)
        await log.wait_for(f"naive:{tag}:late", units, {"escalation"}, within)
        await _submit_all(handles, "late", units, stats)
        t = time.monotonic()
        closed = await _wait_closed(client, f"DubanCampaign = '{tag}'", within)
        waited = time.monotonic() - t
    out: dict[str, Any] = {"units": units, "all_closed": closed, "close_wait_s": round(waited, 1)}
    for (design, path), hs in handles.items():
        costs = await asyncio.gather(*(history_cost(client, h.id) for h in hs))
        events = sum(c[0] for c in costs)
        size = sum(c[1] for c in costs)
        mails = log.matching(f"cycle:{tag}:{path}" if design == "duban" else f"naive:{tag}:{path}:")
        out[f"{design}_{path}"] = {
            "history_events_per_unit": round(events / units, 2),
            "history_bytes_per_unit": round(size / units),
            "runs": sum(c[2] for c in costs),
            "mails": len(mails),
        }
    return out


async def _submit_all(
    handles: dict[tuple[str, str], list[WorkflowHandle[Any, Any]]], path: str, units: int, stats: dict[str, int]
) -> None:
    (cycle,) = handles[("duban", path)]
    ids = plans.unit_ids(path, units)
    calls = [lambda u=u: submit(cycle, SubmitReport(unit_id=u, title="工作总结"), stats) for u in ids]
    calls += [
        lambda h=h, u=u: submit(h, SubmitReport(unit_id=u, title="工作总结"), stats)
        for h, u in zip(handles[("naive", path)], ids, strict=True)
    ]
    await gather_limited(calls, 8)
