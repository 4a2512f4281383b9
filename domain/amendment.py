"""Amending a running cycle: the difference between the plan's units and the cycle's, as pure code.

`ReportingCycle` answers the preview query and applies the `amend_units` Update from this one
function, and its validator refuses whatever `refusal` names, so the handler never meets a
difference it cannot apply. Decisions (README, "Amending a running cycle"):

- a unit the plan no longer names is withdrawn (已撤回) unless it has reported: an accepted report
  is part of the roll-up, so that unit is kept and listed as such;
- a withdrawn unit the plan names again is restored: pending, with a new deadline and a new notice;
- a new unit's deadline is the plan's rule counted from today, or the cycle's unit deadline; either
  must still lie ahead, or the amendment is refused (nothing is added with a deadline already past);
- a cycle holds at most MAX_CYCLE_UNITS units, withdrawn ones included (they stay on its board).
"""

import datetime as dt
import hashlib
import json
import re

from domain import timeline
from schemas.amendment import MAX_CYCLE_UNITS, Amendment, AmendUnits, NewUnitsDue, UnitChange
from schemas.calendar import Due
from schemas.cycle import CycleSpec, CycleStage, CycleState, CycleUnit, UnitPhase
from schemas.people import ID_PATTERN
from schemas.visibility import VALUE_LIMIT

COMPARED = ("name", "contacts", "leader", "work_areas")
_ID = re.compile(ID_PATTERN)


def difference(spec: CycleSpec, state: CycleState, call: AmendUnits, now: dt.datetime) -> Amendment:
    """What applying `call` at `now` would change, and why it cannot be applied (`refusal`), if so."""
    out = Amendment(cycle_id=spec.cycle_id)
    out.refusal = _bad_units(call.units) or ""
    if out.refusal:
        return out
    wanted = {u.id: u for u in call.units}
    for unit in call.units:
        held = state.units.get(unit.id)
        if held is None or held.phase is UnitPhase.WITHDRAWN:
            out.added.append(unit)
            if held is not None:
                out.restored.append(unit.id)
            continue
        before = spec.unit(unit.id)
        fields = [f for f in COMPARED if getattr(unit, f) != getattr(before, f)]
        if fields:
            out.changed.append(UnitChange(unit_id=unit.id, fields=fields, unit=unit, before=before))
    for cu in spec.units:
        held = state.units[cu.id]
        if cu.id in wanted or held.phase is UnitPhase.WITHDRAWN:
            continue
        (out.kept if held.phase is UnitPhase.SUBMITTED else out.withdrawn).append(cu.id)
        out.names[cu.id] = cu.name
    out.digest = digest(out)
    if out.empty:
        return out
    if state.stage is CycleStage.CLOSED:
        out.refusal = f"cycle {spec.cycle_id} is closed"
        return out
    out.refusal = _too_many(spec, state, out) or ""
    if out.added and not out.refusal:
        try:
            out.new_units_due = new_unit_due(spec, state, call.new_units_due, now)
        except BadDue as err:
            out.refusal = str(err)
    return out


def digest(amendment: Amendment) -> str:
    """A short fingerprint of the unit changes (not of the deadline, which depends on the moment applied)."""
    body = {
        "added": [u.model_dump(mode="json") for u in amendment.added],
        "withdrawn": amendment.withdrawn,
        "changed": [c.model_dump(mode="json") for c in amendment.changed],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class BadDue(ValueError):
    """No deadline a new unit could be given now; the message says why and what to choose instead."""


def new_unit_due(spec: CycleSpec, state: CycleState, how: NewUnitsDue, now: dt.datetime) -> Due:
    """The deadline a unit added at `now` gets, with its ladder checked (the handler computes both)."""
    if how is NewUnitsDue.CYCLE:
        due = state.unit_due
        if due.at <= now:
            raise BadDue(
                f"the cycle's unit deadline {due.at.isoformat()} has passed: give new units the plan's rule"
                " counted from today (new_units_due=rule)"
            )
    else:
        try:
            due = timeline.unit_due_from(spec, now)
        except (ValueError, OverflowError) as exc:
            raise BadDue(f"the plan's rule cannot be counted from today: {exc}") from None
        if due.at <= now:
            raise BadDue(
                f"the plan's due date {due.at.isoformat()} has passed (a fixed day of the year):"
                " a unit cannot be added with a deadline already over"
            )
    try:
        timeline.deadline_ladder(spec, due, now)
    except (ValueError, OverflowError) as exc:
        raise BadDue(f"the new units' deadline {due.at.isoformat()} cannot be used: {exc}") from None
    return due


def _bad_units(units: list[CycleUnit]) -> str | None:
    """What is wrong with the units as sent (the CLI's plan check catches these; an API call may not)."""
    if not units:
        return "the plan names no unit for this cycle: withdraw units one by one, not all at once"
    seen: set[str] = set()
    for unit in units:
        if not _ID.fullmatch(unit.id):
            return f"unit id {unit.id[:70]!r} is not an id (lower-case letters, digits, - and _)"
        if unit.id in seen:
            return f"duplicate unit id {unit.id!r}"
        seen.add(unit.id)
        if not unit.name.strip() or len(unit.name) > 200:
            return f"unit {unit.id} needs a name of 1-200 characters"
        if not any(c.email or c.webhook for c in unit.contacts):
            return f"unit {unit.id} has no contact with an email or webhook: its notices would reach nobody"
    return None


def _too_many(spec: CycleSpec, state: CycleState, out: Amendment) -> str | None:
    new_ids = [u.id for u in out.added if u.id not in state.units]
    held = len(state.units) + len(new_ids)
    if held > MAX_CYCLE_UNITS:
        return f"the cycle would hold {held} units (withdrawn ones included); at most {MAX_CYCLE_UNITS}"
    ids_bytes = len(json.dumps(sorted([*state.units, *new_ids])))
    if ids_bytes > VALUE_LIMIT:
        return f"the unit ids would take {ids_bytes} bytes, over the {VALUE_LIMIT} a search attribute may hold"
    return None
