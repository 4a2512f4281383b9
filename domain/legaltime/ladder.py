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

from domain.legaltime.days import CalendarView, describe_day
from domain.legaltime.wording import Note, join_en, join_zh, zh_date, zh_day, zh_moment, zh_provisional
from schemas.calendar import HolidayCalendar, LadderStep, Moment, SendWindow, StepUnit


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
    side, side_zh = ("before", "前") if direction < 0 else ("after", "后")
    notes: list[Note] = []

    if step.unit in (StepUnit.HOURS, StepUnit.MINUTES):
        unit, unit_zh = ("hour", "小时") if step.unit is StepUnit.HOURS else ("minute", "分钟")
        delta = timedelta(hours=step.offset) if step.unit is StepUnit.HOURS else timedelta(minutes=step.offset)
        t = (due.astimezone(UTC) + direction * delta).astimezone(tz)
        notes.append(
            Note(
                f"{step.offset} {unit}{_s(step.offset)} {side} the due moment {_fmt(due)}: {_fmt(t)}",
                f"截止时间{zh_moment(due)}{side_zh}{step.offset}{unit_zh}，即{zh_moment(t)}",
            )
        )
    elif step.offset == 0 and direction > 0:
        t = due
        notes.append(Note(f"at the due moment {_fmt(due)}", f"于截止时间{zh_moment(due)}"))
    else:
        if step.unit is StepUnit.WORKING_DAYS:
            target, _ = view.add_working(due.date(), direction * step.offset)
            what = f"{step.offset} working day{_s(step.offset)} {side}"
            what_zh = f"{side_zh}{step.offset}个工作日"
        else:
            target = due.date() + direction * timedelta(days=step.offset)
            what = f"{step.offset} day{_s(step.offset)} {side}"
            what_zh = f"{side_zh}{step.offset}日"
        if step.offset == 0:
            notes.append(Note(f"the due day {describe_day(target)}, morning", f"截止当日{zh_day(target)}上午"))
        else:
            notes.append(
                Note(
                    f"{what} the due day {describe_day(due.date())}: {describe_day(target)}, morning",
                    f"截止日{zh_day(due.date())}{what_zh}，即{zh_day(target)}上午",
                )
            )
        t = datetime.combine(target, window.start, tz)
        if not step.urgent and not view.working(target):
            # Keep a day rung in the morning: move whole days, not to the evening before.
            moved, _ = view.step_to_working(target, direction)
            t = datetime.combine(moved, window.start, tz)
            notes.append(
                Note(
                    f"{target.isoformat()} is a rest day, moved to {describe_day(moved)}",
                    f"{zh_date(target)}为休息日，{'提前' if direction < 0 else '推后'}至{zh_day(moved)}",
                )
            )

    if step.urgent:
        notes.append(Note("urgent: not held to the send window", "紧急事项，不受发送时段限制"))
    elif not in_window(t, window, view):
        snapped = snap(t, window, view)
        notes.append(
            Note(
                f"outside the send window, moved {'earlier' if direction < 0 else 'later'} to {_fmt(snapped)}",
                f"不在发送时段（工作日{window.start:%H:%M}至{window.end:%H:%M}）内，"
                f"{'提前' if direction < 0 else '推后'}至{zh_moment(snapped)}",
            )
        )
        t = snapped

    # A reminder must come before the deadline and an escalation after it, whatever the offsets say.
    if (direction < 0 and t > due) or (direction > 0 and t < due):
        t = due if step.urgent else snap(due, window, view)
        notes.append(
            Note(
                f"kept on the right side of the due moment: {_fmt(t)}",
                f"{'催办须在截止前发出' if direction < 0 else '督办须在截止后发出'}，改为{zh_moment(t)}",
            )
        )

    if view.provisional:
        notes.append(Note("provisional holiday data", zh_provisional(sorted(view.provisional_years))))
    return Moment(key=step.key, at=t, provisional=view.provisional, rule=join_en(notes), rule_zh=join_zh(notes, "；"))


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
