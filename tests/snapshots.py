"""Everything a workflow holds, for tests that prove a refused call changed nothing.

A cycle's snapshot is its full state (`get_state`: every unit's timeline, fired
steps, link state, the audit trail, the outbox), every unit's view as the portal
shows it, and the length of its history; a lead's is its status (stages, tracks,
timeline) and its history length; an information channel's is every item it holds, its board
and its history length. A refused Update must leave all of it as it was,
history included: a validator's no is not written into the history.
"""

import asyncio
from typing import Any

from temporalio.client import Client, WorkflowHandle

from schemas.cycle import UnitQuery
from schemas.info import BoardQuery, ItemsQuery
from schemas.lead import LeadStatusQuery
from workflows.info_channel import InfoChannel
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

QUIET_POLLS = 3


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    desc = await handle.describe()
    return int(desc.raw_description.workflow_execution_info.history_length)


async def cycle_snapshot(client: Client, cycle_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(cycle_id)
    state = await handle.query(ReportingCycle.get_state)
    views = {}
    for uid in sorted(state.units):
        view = await handle.query(ReportingCycle.get_unit, UnitQuery(unit_id=uid))
        views[uid] = view.model_dump()
    return {"state": state.model_dump(), "views": views, "history_length": await history_length(handle)}


async def lead_snapshot(client: Client, lead_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(lead_id)
    status = await handle.query(LeadReferral.get_status, LeadStatusQuery())
    return {"status": status.model_dump(exclude={"now"}), "history_length": await history_length(handle)}


async def info_snapshot(client: Client, channel_id: str) -> dict[str, Any]:
    """An information channel: every item it holds (with its events), its board, its history length."""
    handle = client.get_workflow_handle(channel_id)
    items = await handle.query(InfoChannel.get_items, ItemsQuery())
    board = await handle.query(InfoChannel.get_board, BoardQuery())
    return {
        "items": items.model_dump(exclude={"now"}),
        "board": board.model_dump(),
        "history_length": await history_length(handle),
    }


async def quiet_info_snapshot(client: Client, channel_id: str, seconds: float = 20.0) -> dict[str, Any]:
    return await _quiet(lambda: info_snapshot(client, channel_id), seconds, cycle=False)


async def quiet_cycle_snapshot(client: Client, cycle_id: str, seconds: float = 20.0) -> dict[str, Any]:
    """A snapshot once the cycle has stopped moving (its outbox sent, the history no longer growing),
    so that a later difference can only come from the call under test."""
    return await _quiet(lambda: cycle_snapshot(client, cycle_id), seconds, cycle=True)


async def quiet_lead_snapshot(client: Client, lead_id: str, seconds: float = 20.0) -> dict[str, Any]:
    return await _quiet(lambda: lead_snapshot(client, lead_id), seconds, cycle=False)


async def _quiet(take: Any, seconds: float, cycle: bool) -> dict[str, Any]:
    last: dict[str, Any] | None = None
    same = 0
    for _ in range(int(seconds / 0.2)):
        snap: dict[str, Any] = await take()
        busy = cycle and bool(snap["state"]["outbox"])
        same = same + 1 if snap == last and not busy else 0
        if same >= QUIET_POLLS:
            return snap
        last = snap
        await asyncio.sleep(0.2)
    raise AssertionError("the workflow did not settle")
