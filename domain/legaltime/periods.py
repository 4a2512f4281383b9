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

The counting is explained twice from the same notes (`wording.Note`): `Due.rule` in
English, as scripts read it, and `Due.rule_zh` in Chinese, as a notice prints it.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pendulum

from domain.legaltime.days import CalendarView, describe_day
from domain.legaltime.wording import (
    CIVIL_CODE_ZH,
    Note,
    join_en,
    join_zh,
    zh_date,
    zh_day,
    zh_provisional,
    zh_weekday,
)
from schemas.calendar import Due, DueRule, HolidayCalendar, Roll, RuleKind

END_OF_DAY = time(23, 59, 59)


def local_start(start: date | datetime, tz: ZoneInfo) -> datetime:
    """A naive start is in the office's zone; an aware one is converted to it; a date is its midnight.

    The standard library, not pendulum, on purpose: zone conversion with zoneinfo is exact, and the
    result goes into `Due.at` (a pydantic field), where a pendulum subclass must never end up."""
    if isinstance(start, datetime):
        return start.replace(tzinfo=tz) if start.tzinfo is None else start.astimezone(tz)
    return datetime.combine(start, time(0), tz)


def add_months(d: date, months: int) -> date:
    """Art. 202: the corresponding day of the final month, or its last day when there is none.

    pendulum's month arithmetic is exactly that rule (Jan 31 + 1 month = Feb 28, or 29 in a leap
    year); the result comes back as a plain `date`."""
    end = pendulum.Date(d.year, d.month, d.day).add(months=months)
    return date(end.year, end.month, end.day)


def roll_day(d: date, roll: Roll, view: CalendarView) -> tuple[date, Note | None]:
    """Apply a roll rule to a last day; the note says why it moved (None when it did not need to)."""
    info = view.info(d)
    if info.working:
        if info.makeup:
            return d, Note(
                f"{describe_day(d)} is a make-up working day (调休), not rolled",
                f"{zh_day(d)}为调休上班日，不顺延",
            )
        return d, None
    what = f"a rest day ({info.holiday})" if info.holiday else f"a {describe_day(d).split()[0]}"
    what_zh = f"{info.holiday}假期" if info.holiday else zh_weekday(d)
    if roll is Roll.NONE:
        return d, Note(
            f"{d.isoformat()} is {what}; the rule does not roll, so it stays due on the rest day",
            f"{zh_date(d)}为{what_zh}，本规则不顺延",
        )
    direction = 1 if roll is Roll.NEXT else -1
    moved, _ = view.step_to_working(d, direction)
    verb = "rolled" if roll is Roll.NEXT else "rolled back"
    law = " (Civil Code Art. 203)" if roll is Roll.NEXT else ""
    how_zh = f"依{CIVIL_CODE_ZH[203]}顺延至" if roll is Roll.NEXT else "提前至"
    return moved, Note(
        f"{d.isoformat()} is {what}, {verb} to {describe_day(moved)}{law}",
        f"{zh_date(d)}为{what_zh}，{how_zh}{zh_day(moved)}",
    )


def _end_of(last: date, rule: DueRule, tz: ZoneInfo) -> tuple[datetime, str, str]:
    """The due moment on the last day, the English note, and the Chinese clock ('24:00')."""
    if rule.close is None:
        return datetime.combine(last, END_OF_DAY, tz), f"due {describe_day(last)} at 24:00", "24:00"
    return (
        datetime.combine(last, rule.close, tz),
        f"due {describe_day(last)} at close of business {rule.close:%H:%M}",
        f"{rule.close:%H:%M}（下班时间）",
    )


def compute_due(start: date | datetime, rule: DueRule, cal: HolidayCalendar) -> Due:
    """The due moment of `rule` counted from `start`, with the counting explained in words (English and Chinese)."""
    tz = ZoneInfo(cal.tz)
    begin = local_start(start, tz)
    view = CalendarView(cal)
    notes: list[Note] = []

    if rule.kind in (RuleKind.HOURS, RuleKind.MINUTES):
        delta = timedelta(hours=rule.n) if rule.kind is RuleKind.HOURS else timedelta(minutes=rule.n)
        # Count in UTC: an exact duration, whatever the zone's clock does in between.
        at = (begin.astimezone(UTC) + delta).astimezone(tz)
        text = (
            f"{rule.n} {rule.kind.value} from {begin:%Y-%m-%d %H:%M} (Civil Code Art. 201: "
            f"an hour period starts at the stated moment; not rolled): due {at:%Y-%m-%d %H:%M}"
        )
        unit_zh = "小时" if rule.kind is RuleKind.HOURS else "分钟"
        text_zh = (
            f"自{zh_date(begin.date())}{begin:%H:%M}起计算{rule.n}{unit_zh}（{CIVIL_CODE_ZH[201]}："
            f"按小时计算的期间自规定时起算，不顺延），截止{zh_date(at.date())}{at:%H:%M}"
        )
        return Due(at=at, tz=cal.tz, provisional=False, rule=text, rule_zh=text_zh)

    start_day = begin.date()
    # For day, month and fixed rules the count's Chinese note is a lead ('规定截止日', '期间最后一日')
    # that the last day completes below, so the day is named once and the clock follows it.
    if rule.kind is RuleKind.FIXED:
        last = start_day
        notes.append(Note(f"fixed due date {describe_day(last)}", "规定截止日"))
    elif rule.kind is RuleKind.DAYS:
        last = start_day + timedelta(days=rule.n)
        notes.append(
            Note(
                f"{rule.n} days from {start_day.isoformat()} (Civil Code Art. 201: start day not counted)"
                f" end on {describe_day(last)}",
                f"自{zh_date(start_day)}起计{rule.n}日（{CIVIL_CODE_ZH[201]}：开始的当日不计入），期间最后一日",
            )
        )
    elif rule.kind is RuleKind.MONTHS:
        last = add_months(start_day, rule.n)
        corresponding = f"{rule.n} month{'s' if rule.n > 1 else ''} from {start_day.isoformat()}"
        counted_zh = f"自{zh_date(start_day)}起计{rule.n}个月"
        if last.day != start_day.day:
            notes.append(
                Note(
                    f"{corresponding}: {last:%Y-%m} has no day {start_day.day}, so the month's last day "
                    f"{describe_day(last)} (Civil Code Art. 202)",
                    f"{counted_zh}，{last.year}年{last.month}月没有{start_day.day}日，"
                    f"依{CIVIL_CODE_ZH[202]}以该月最后一日为期间最后一日，即",
                )
            )
        else:
            notes.append(
                Note(
                    f"{corresponding} end on the corresponding day {describe_day(last)} (Civil Code Art. 202)",
                    f"{counted_zh}，依{CIVIL_CODE_ZH[202]}至对应日",
                )
            )
    else:  # working days: rest days are skipped while counting, so there is nothing to roll
        last, skipped = view.add_working(start_day, rule.n)
        text = f"{rule.n} working day{'s' if rule.n > 1 else ''} from {start_day.isoformat()} (start day not counted)"
        text_zh = f"自{zh_date(start_day)}起（当日不计入）计{rule.n}个工作日"
        if skipped:
            runs = view.rest_runs(skipped)
            text += f", skipping {runs.en}"
            text_zh += f"，跳过{runs.zh}"
        notes.append(Note(text, text_zh))
        makeups = [
            d
            for d in (start_day + timedelta(days=i) for i in range(1, (last - start_day).days + 1))
            if view.info(d).makeup
        ]
        if makeups:
            notes.append(
                Note(
                    "counting make-up working day " + ", ".join(describe_day(d) for d in makeups),
                    "计入调休上班日" + "、".join(zh_day(d) for d in makeups),
                )
            )

    if rule.kind is RuleKind.WORKING_DAYS:
        at, ending, clock_zh = _end_of(last, rule, tz)
        notes.append(Note(ending, f"截止{zh_day(last)}{clock_zh}"))
    else:
        moved, why = roll_day(last, rule.roll, view)
        at, ending, clock_zh = _end_of(moved, rule, tz)
        if why is None:
            last_zh = zh_day(last) + clock_zh
        elif moved != last:  # '2026年12月13日为星期日，依…顺延至2026年12月14日（星期一）' + the clock
            last_zh = why.zh + clock_zh
        else:  # kept on a make-up day or, by the rule, on the rest day
            last_zh = f"{why.zh}，截止当日{clock_zh}"
        count = notes.pop()
        notes.append(Note(count.en, count.zh + last_zh))
        if why is not None:
            notes.append(Note(why.en, ""))
        notes.append(Note(ending, ""))

    text_zh = join_zh(notes)
    if view.provisional:
        notes.append(Note("provisional: the holiday arrangement for a year consulted is not published yet", ""))
        # A sentence of its own in Chinese: it is about the data, not the count.
        text_zh += "；" + zh_provisional(sorted(view.provisional_years))
    return Due(at=at, tz=cal.tz, provisional=view.provisional, rule=join_en(notes), rule_zh=text_zh)
