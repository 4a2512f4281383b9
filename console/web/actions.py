"""Office actions as the web surfaces receive them: one function per action, calling the cycle's Update.

The pages (forms) and the JSON API both go through here, and so through the
same Updates as the CLI.
"""

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.client import Client

from console import client_calls as calls
from schemas.cycle import (
    ActionResult,
    DecideExtension,
    OfficeAction,
    ReturnForRevision,
    Waive,
)
from workflows.reporting_cycle import ReportingCycle

UnitActionName = Literal["extend", "waive", "return", "approve", "refuse"]
CycleActionName = Literal["forward", "close", "recompute"]


class UnitAction(BaseModel):
    """An office action on one unit (the API's request body; the forms' fields)."""

    reason: str = Field(default="", max_length=1000)
    due: dt.date | None = Field(default=None, description="extend: the new due date; return: the revision's due date")


class CycleAction(BaseModel):
    reason: str = Field(default="", max_length=1000)


async def unit_action(
    client: Client, cycle_id: str, unit_id: str, action: UnitActionName, body: UnitAction, by: str
) -> ActionResult:
    if action == "extend":
        if body.due is None:
            raise calls.Rejected("extend needs the new due date")
        decision = DecideExtension(unit_id=unit_id, approve=True, new_due=body.due, reason=body.reason, by=by)
    elif action == "approve":
        decision = DecideExtension(unit_id=unit_id, approve=True, new_due=body.due, reason=body.reason, by=by)
    elif action == "refuse":
        if not body.reason.strip():
            raise calls.Rejected("refuse needs a reason (the unit is told it)")
        decision = DecideExtension(unit_id=unit_id, approve=False, reason=body.reason, by=by)
    elif action == "waive":
        if not body.reason.strip():
            raise calls.Rejected("waive needs a reason")
        return await calls.update(
            client, cycle_id, ReportingCycle.waive, Waive(unit_id=unit_id, reason=body.reason, by=by)
        )
    else:
        if body.due is None or not body.reason.strip():
            raise calls.Rejected("return needs a reason and a new due date")
        call = ReturnForRevision(unit_id=unit_id, reason=body.reason, new_due=body.due, by=by)
        return await calls.update(client, cycle_id, ReportingCycle.return_for_revision, call)
    return await calls.update(client, cycle_id, ReportingCycle.decide_extension, decision)


async def cycle_action(
    client: Client, cycle_id: str, action: CycleActionName, body: CycleAction, by: str, calendars: Path | None = None
) -> ActionResult:
    if action == "recompute":
        return await calls.recompute(client, cycle_id, by, calendars)
    method = ReportingCycle.forward_upward if action == "forward" else ReportingCycle.close
    return await calls.update(client, cycle_id, method, OfficeAction(reason=body.reason, by=by))
