"""Placing reminder (催办) and escalation (督办) ladders on the calendar.

A rung is an offset from the due moment in working days, calendar days or hours.
Day rungs go out at the start of the send window (the morning) of their day; hour
rungs at their exact moment. A non-urgent rung must land inside the send window on
a working day, so it is snapped: reminders *earlier* (a reminder that slid past the
due moment would be useless), escalations *later* (an escalation must never go out
before the unit is actually late). Urgent rungs go out at their computed moment.

Rungs already in the past are kept: the caller knows the clock, this code does not.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.calendar import HolidayCalendar, LadderStep, Moment, SendWindow, StepUnit
from workflows.legaltime.days import CalendarView, describe_day


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _fmt(t: datetime) -> str:
    return f"{describe_day(t.date())} {t:%H:%M}"


def in_window(t: datetime, window: SendWindow, view: CalendarView) -> bool:
    """Whether a local moment may carry a non-urgent message."""
    return view.working(t.date()) and window.start <= t.timetz().replace(tzinfo=None) <= window.end


def snap_earlier(t: datetime, window: SendWindow, view: CalendarView) -> datetime:
    """The latest moment inside the send window at or before local moment t."""
    d, clock = t.date(), t.time()
    if view.working(d):
        if clock > window.end:
            return datetime.combine(d, window.end, t.tzinfo)
        if clock >= window.start:
            return t
    previous, _ = view.step_to_working(d, -1)
    return datetime.combine(previous, window.end, t.tzinfo)


def snap_later(t: datetime, window: SendWindow, view: CalendarView) -> datetime:
    """The earliest moment inside the send window at or after local moment t."""
    d, clock = t.date(), t.time()
    if view.working(d):
        if clock < window.start:
            return datetime.combine(d, window.start, t.tzinfo)
        if clock <= window.end:
            return t
    following, _ = view.step_to_working(d, 1)
    return datetime.combine(following, window.start, t.tzinfo)


def _check(window: SendWindow) -> None:
    if window.start >= window.end:
        raise ValueError(f"send window {window.start:%H:%M}-{window.end:%H:%M} is empty")


def _place(due_at: datetime, step: LadderStep, cal: HolidayCalendar, window: SendWindow, direction: int) -> Moment:
    """One rung; direction -1 for reminders (before due), +1 for escalations (after)."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be an aware datetime")
    tz = ZoneInfo(cal.tz)
    due = due_at.astimezone(tz)
    view = CalendarView(cal)
    snap: Callable[[datetime, SendWindow, CalendarView], datetime] = snap_earlier if direction < 0 else snap_later
    side = "before" if direction < 0 else "after"
    notes: list[str] = []

    if step.unit in (StepUnit.HOURS, StepUnit.MINUTES):
        unit = "hour" if step.unit is StepUnit.HOURS else "minute"
        delta = timedelta(hours=step.offset) if step.unit is StepUnit.HOURS else timedelta(minutes=step.offset)
        t = (due.astimezone(UTC) + direction * delta).astimezone(tz)
        notes.append(f"{step.offset} {unit}{_s(step.offset)} {side} the due moment {_fmt(due)}: {_fmt(t)}")
    elif step.offset == 0 and direction > 0:
        t = due
        notes.append(f"at the due moment {_fmt(due)}")
    else:
        if step.unit is StepUnit.WORKING_DAYS:
            target, _ = view.add_working(due.date(), direction * step.offset)
            what = f"{step.offset} working day{_s(step.offset)} {side}"
        else:
            target = due.date() + direction * timedelta(days=step.offset)
            what = f"{step.offset} day{_s(step.offset)} {side}"
        if step.offset == 0:
            notes.append(f"the due day {describe_day(target)}, morning")
        else:
            notes.append(f"{what} the due day {describe_day(due.date())}: {describe_day(target)}, morning")
        t = datetime.combine(target, window.start, tz)
        if not step.urgent and not view.working(target):
            # Keep a day rung in the morning: move whole days, not to the evening before.
            moved, _ = view.step_to_working(target, direction)
            t = datetime.combine(moved, window.start, tz)
            notes.append(f"{target.isoformat()} is a rest day, moved to {describe_day(moved)}")

    if step.urgent:
        notes.append("urgent: not held to the send window")
    elif not in_window(t, window, view):
        snapped = snap(t, window, view)
        notes.append(f"outside the send window, moved {'earlier' if direction < 0 else 'later'} to {_fmt(snapped)}")
        t = snapped

    # A reminder must come before the deadline and an escalation after it, whatever the offsets say.
    if (direction < 0 and t > due) or (direction > 0 and t < due):
        t = due if step.urgent else snap(due, window, view)
        notes.append(f"kept on the right side of the due moment: {_fmt(t)}")

    if view.provisional:
        notes.append("provisional holiday data")
    return Moment(key=step.key, at=t, provisional=view.provisional, rule="; ".join(notes))


def _sorted(moments: list[Moment]) -> list[Moment]:
    return sorted(moments, key=lambda m: (m.at, m.key))


def reminder_moments(
    due_at: datetime, steps: list[LadderStep], cal: HolidayCalendar, window: SendWindow | None = None
) -> list[Moment]:
    """催办 rungs before due_at (aware), each at or before it, sorted by time, in UTC."""
    window = window or SendWindow()
    _check(window)
    return _sorted([_place(due_at, step, cal, window, -1) for step in steps])


def escalation_moments(
    due_at: datetime, steps: list[LadderStep], cal: HolidayCalendar, window: SendWindow | None = None
) -> list[Moment]:
    """督办 rungs after due_at (aware), each at or after it, sorted by time, in UTC."""
    window = window or SendWindow()
    _check(window)
    return _sorted([_place(due_at, step, cal, window, 1) for step in steps])
