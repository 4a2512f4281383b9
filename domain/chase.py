"""催办 now (`ReportingCycle.remind_now`): which units an office's chase reaches, and when it may not go.

Pure, so the Update's validator and its handler decide from the same code: the validator refuses
everything the handler could not apply (an unknown or settled unit, a closed cycle, a moment outside the
send window without `urgent`), and the handler then only queues the messages.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from domain import timeline
from domain.legaltime.days import CalendarView
from domain.legaltime.ladder import in_window
from schemas.cycle import CycleSpec, CycleState, RemindNow

MAX_KEYS = 200  # chase keys kept in the state: a repeated click is recognised among the latest ones


def targets(state: CycleState, unit_ids: list[str]) -> list[str]:
    """The units to chase: those named (each once, in the order given), else every unit still owing."""
    if unit_ids:
        return list(dict.fromkeys(unit_ids))
    return [uid for uid, unit in state.units.items() if not timeline.settled(unit)]


def refusal(spec: CycleSpec, state: CycleState, call: RemindNow, now: dt.datetime) -> str | None:
    """Why this chase cannot go now, or None when it can."""
    for uid in dict.fromkeys(call.unit_ids):
        unit = state.units.get(uid)
        if unit is None:
            return f"unknown unit {uid!r} in cycle {spec.cycle_id}"
        if timeline.settled(unit):
            return f"unit {uid} has nothing outstanding ({unit.phase.value})"
    if not targets(state, call.unit_ids):
        return "no unit is still owing: nobody to chase"
    if not call.urgent and not in_send_window(spec, now):
        window = spec.obligation.send_window
        return (
            f"outside the send window (working days {window.start:%H:%M}-{window.end:%H:%M}); "
            "chase in working hours, or mark it urgent"
        )
    return None


def in_send_window(spec: CycleSpec, now: dt.datetime) -> bool:
    """Whether a non-urgent message may go out at `now` (the plan's send window, on a working day)."""
    local = now.astimezone(ZoneInfo(spec.tz))
    try:
        return in_window(local, spec.obligation.send_window, CalendarView(spec.calendar))
    except (KeyError, ValueError):
        return False  # a day the holiday data does not cover: only an urgent chase goes
