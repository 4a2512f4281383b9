"""The board's views of a cycle: each unit's row and light, the counts, the whole status.

Pure: the workflow's queries and its search attributes are built from these, at `workflow.now()`.
"""

import datetime as dt

from domain import timeline
from domain.cycle_notices import unit_by_id
from schemas.cycle import CycleSpec, CycleState, CycleStatus, Light, UnitPhase, UnitRow, UnitState, UnitView


def light(unit: UnitState, now: dt.datetime) -> Light:
    """Withdrawn, grey waived, green submitted, red overdue, yellow due soon, blue not yet due."""
    if unit.phase is UnitPhase.WITHDRAWN:
        return Light.WITHDRAWN
    if unit.phase is UnitPhase.WAIVED:
        return Light.GREY
    if unit.phase is UnitPhase.SUBMITTED:
        return Light.GREEN
    if timeline.is_overdue(unit, now):
        return Light.RED
    if unit.due.at - now <= timeline.DUE_SOON:
        return Light.YELLOW
    return Light.BLUE


def unit_row(spec: CycleSpec, unit: UnitState, now: dt.datetime) -> UnitRow:
    current = [s for s in unit.submissions if not s.replaced]
    last = max((s.submitted_at for s in current), default=None)
    late_ref = last if unit.phase is UnitPhase.SUBMITTED and last else now
    return UnitRow(
        unit_id=unit.unit_id,
        unit_name=unit_by_id(spec, unit.unit_id).name,
        phase=unit.phase,
        light=light(unit, now),
        due=unit.due,
        overdue=timeline.is_overdue(unit, now),
        submitted_at=last,
        days_late=timeline.days_late(unit.due.at, late_ref, unit.due.tz) if late_ref > unit.due.at else 0,
        reports=len(current),
        reminders_sent=sum(1 for f in unit.fired if f.startswith("remind:")),
        escalation_level=unit.escalation_level,
        extension_requested=unit.extension is not None,
        returns=sum(1 for e in unit.timeline if e.what == "returned"),
        submissions=len(unit.submissions),
    )


def counts(state: CycleState, now: dt.datetime) -> dict[str, int]:
    """The board's figures; `total` counts the units that owe the report (a withdrawn one no longer does)."""
    units = list(state.units.values())
    withdrawn = sum(u.phase is UnitPhase.WITHDRAWN for u in units)
    return {
        "total": len(units) - withdrawn,
        "submitted": sum(u.phase is UnitPhase.SUBMITTED for u in units),
        "waived": sum(u.phase is UnitPhase.WAIVED for u in units),
        "pending": sum(not timeline.settled(u) for u in units),
        "overdue": sum(timeline.is_overdue(u, now) for u in units),
        "withdrawn": withdrawn,
    }


def cycle_status(spec: CycleSpec, state: CycleState, now: dt.datetime) -> CycleStatus:
    items = timeline.pending_items(spec, state)
    return CycleStatus(
        cycle_id=spec.cycle_id,
        campaign_id=spec.campaign_id,
        office_id=spec.office.id,
        period=spec.period,
        obligation=spec.obligation.id,
        stage=state.stage,
        now=now,
        unit_due=state.unit_due,
        upward_due=state.upward_due,
        forwarded_at=state.forwarded_at,
        counts=counts(state, now),
        units=[unit_row(spec, state.units[u.id], now) for u in spec.units],
        next_event_at=items[0].at if items else None,
        next_event=items[0].summary if items else "",
        problems=state.problems,
    )


def unit_view(spec: CycleSpec, state: CycleState, unit_id: str, now: dt.datetime) -> UnitView:
    """One unit's page: its row, state and the steps still ahead of it (none once the cycle is closed).

    The caller checks that the unit is one of the cycle's."""
    unit = state.units[unit_id]
    items = [i for i in timeline.pending_items(spec, state) if i.unit_id == unit_id]
    return UnitView(
        cycle_id=spec.cycle_id,
        period=spec.period,
        obligation_title=spec.obligation.title,
        unit=unit_by_id(spec, unit_id),
        row=unit_row(spec, unit, now),
        state=unit,
        upcoming=[(i.at, i.step) for i in items],
    )
