"""The operators' board of a whole campaign: `--board-units` units in cycles of `--shard` units.

Every cycle opens (its notices out), then, one call after another, `--board-times` times each:

- **full status**: list the campaign's cycles, then every cycle's `get_status` (every unit's row),
  as `duban status` and `GET /api/status` read it;
- **board**: list, then every cycle's `get_board` (per-cycle figures, one light per unit), as the
  console's board reads it;
- **board page**: `GET /?campaign=…` of the console (signed in), the HTML the operator receives:
  the board's calls plus the timely-information listing and the template.

Every unit is pending: the board's content is the same whatever the lights say, and the cost
is in the number of units, not in their state.
"""

import asyncio
import datetime as dt
import os
import re
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from bench import plans
from bench.measure import summary, timed
from bench.stack import Stack
from console import client_calls as calls
from console.auth import DEV_ADMIN, dev_admin_password
from console.web.app import create_app


async def _signed_in(web: httpx.AsyncClient, password: str) -> None:
    page = await web.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF field on the sign-in page"
    done = await web.post("/login", data={"username": DEV_ADMIN, "password": password, "csrf_token": token[1]})
    assert done.status_code == 303, done.text[:300]


async def run_board(stack: Stack, tag: str, units: int, shard: int, times: int, within: float) -> dict[str, Any]:
    assert stack.client is not None
    client, queue = stack.client, stack.settings.temporal.task_queue
    ob = plans.minute_obligation(due_min=60)  # nothing fires while the board is measured
    opened = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {"units": units, "cycles": 0, "times": times}
    handles: list[WorkflowHandle[Any, Any]] = []
    async with stack.worker("duban"):
        for k in range(-(-units // shard)):
            office = f"o{k}"
            ids = plans.unit_ids(office, min(shard, units - k * shard))
            inp = plans.cycle_input(plans.office_plan(tag, office, ids, ob), opened)
            assert inp.spec is not None
            handles.append(await client.start_workflow("ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=queue))
        out["cycles"] = len(handles)
        got = await stack.arrivals.wait_for(f"cycle:{tag}:", units, {"notice"}, within)
        out["notices"] = len(got)

        async def full() -> int:
            found = await calls.statuses(client, await calls.list_cycles(client, tag))
            return sum(len(s.units) for s in found)

        async def board() -> int:
            found = await calls.boards(client, await calls.list_cycles(client, tag))
            return sum(len(b.units) for b in found)

        app = create_app(stack.settings, client=client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as web:
            await _signed_in(web, dev_admin_password(stack.settings))

            async def page() -> int:
                got = await web.get("/", params={"campaign": tag})
                got.raise_for_status()
                return got.text.count('class="unit ')

            await board()  # one call first: the console's first connection and the worker's cache are warm
            out["load_avg_1m"] = round(os.getloadavg()[0], 1)  # anything else running shows here
            for name, call in (("full_status", full), ("board", board), ("board_page", page)):
                durations, shown = await timed(call, times)
                out[f"{name}_s"] = summary(durations)
                out[f"{name}_units"] = shown
            out["board_page_bytes"] = len((await web.get("/", params={"campaign": tag})).content)
    await asyncio.gather(*(h.terminate("benchmark: board measured") for h in handles))
    return out
