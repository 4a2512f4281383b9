"""Due moments from period rules, counted as the Civil Code counts them.

- Art. 201: a period in days, months or years starts the next day (the start day is
  not counted); a period in hours starts at the stated moment.
- Art. 202: a period in months ends on the corresponding day of the last month, or
  on that month's last day when it has no such day (Jan 31 + 1 month = Feb 28/29).
- Art. 203: when the last day is a statutory rest day the period ends on the first
  day after it; the last day ends at 24:00, or at close of business where there is one.

Working-day periods (行政许可法 Art. 82 and others) skip rest days and count make-up
working days. A day ending "at 24:00" is stored as 23:59:59 local time so that the due
moment is still on the last day.
"""

import calendar as monthcal
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas.calendar import Due, DueRule, HolidayCalendar, Roll, RuleKind
from workflows.legaltime.days import CalendarView, describe_day

END_OF_DAY = time(23, 59, 59)


def local_start(start: date | datetime, tz: ZoneInfo) -> datetime:
    """A naive start is in the office's zone; an aware one is converted to it; a date is its midnight."""
    if isinstance(start, datetime):
        return start.replace(tzinfo=tz) if start.tzinfo is None else start.astimezone(tz)
    return datetime.combine(start, time(0), tz)


def add_months(d: date, months: int) -> date:
    """Art. 202: the corresponding day of the final month, or its last day when there is none."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, monthcal.monthrange(year, month)[1]))


def roll_day(d: date, roll: Roll, view: CalendarView) -> tuple[date, str | None]:
    """Apply a roll rule to a last day; the text says why it moved (None when it did not need to)."""
    info = view.info(d)
    if info.working:
        if info.makeup:
            return d, f"{describe_day(d)} is a make-up working day (调休), not rolled"
        return d, None
    what = f"a rest day ({info.holiday})" if info.holiday else f"a {describe_day(d).split()[0]}"
    if roll is Roll.NONE:
        return d, f"{d.isoformat()} is {what}; the rule does not roll, so it stays due on the rest day"
    direction = 1 if roll is Roll.NEXT else -1
    moved, _ = view.step_to_working(d, direction)
    verb = "rolled" if roll is Roll.NEXT else "rolled back"
    law = " (Civil Code Art. 203)" if roll is Roll.NEXT else ""
    return moved, f"{d.isoformat()} is {what}, {verb} to {describe_day(moved)}{law}"


def _end_of(last: date, rule: DueRule, tz: ZoneInfo) -> tuple[datetime, str]:
    if rule.close is None:
        return datetime.combine(last, END_OF_DAY, tz), f"due {describe_day(last)} at 24:00"
    return datetime.combine(last, rule.close, tz), f"due {describe_day(last)} at close of business {rule.close:%H:%M}"


def compute_due(start: date | datetime, rule: DueRule, cal: HolidayCalendar) -> Due:
    """The due moment of `rule` counted from `start`, with the counting explained in words."""
    tz = ZoneInfo(cal.tz)
    begin = local_start(start, tz)
    view = CalendarView(cal)
    notes: list[str] = []

    if rule.kind in (RuleKind.HOURS, RuleKind.MINUTES):
        delta = timedelta(hours=rule.n) if rule.kind is RuleKind.HOURS else timedelta(minutes=rule.n)
        # Count in UTC: an exact duration, whatever the zone's clock does in between.
        at = (begin.astimezone(UTC) + delta).astimezone(tz)
        text = (
            f"{rule.n} {rule.kind.value} from {begin:%Y-%m-%d %H:%M} (Civil Code Art. 201: "
            f"an hour period starts at the stated moment; not rolled): due {at:%Y-%m-%d %H:%M}"
        )
        return Due(at=at, tz=cal.tz, provisional=False, rule=text)

    start_day = begin.date()
    if rule.kind is RuleKind.FIXED:
        last = start_day
        notes.append(f"fixed due date {describe_day(last)}")
    elif rule.kind is RuleKind.DAYS:
        last = start_day + timedelta(days=rule.n)
        notes.append(
            f"{rule.n} days from {start_day.isoformat()} (Civil Code Art. 201: start day not counted)"
            f" end on {describe_day(last)}"
        )
    elif rule.kind is RuleKind.MONTHS:
        last = add_months(start_day, rule.n)
        corresponding = f"{rule.n} month{'s' if rule.n > 1 else ''} from {start_day.isoformat()}"
        if last.day != start_day.day:
            notes.append(
                f"{corresponding}: {last:%Y-%m} has no day {start_day.day}, so the month's last day "
                f"{describe_day(last)} (Civil Code Art. 202)"
            )
        else:
            notes.append(f"{corresponding} end on the corresponding day {describe_day(last)} (Civil Code Art. 202)")
    else:  # working days: rest days are skipped while counting, so there is nothing to roll
        last, skipped = view.add_working(start_day, rule.n)
        text = f"{rule.n} working day{'s' if rule.n > 1 else ''} from {start_day.isoformat()} (start day not counted)"
        if skipped:
            text += f", skipping {view.rest_runs(skipped)}"
        notes.append(text)
        makeups = [
            d
            for d in (start_day + timedelta(days=i) for i in range(1, (last - start_day).days + 1))
            if view.info(d).makeup
        ]
        if makeups:
            notes.append("counting make-up working day " + ", ".join(describe_day(d) for d in makeups))

    if rule.kind is not RuleKind.WORKING_DAYS:
        last, why = roll_day(last, rule.roll, view)
        if why:
            notes.append(why)

    at, ending = _end_of(last, rule, tz)
    notes.append(ending)
    if view.provisional:
        notes.append("provisional: the holiday arrangement for a year consulted is not published yet")
    return Due(at=at, tz=cal.tz, provisional=view.provisional, rule="; ".join(notes))
