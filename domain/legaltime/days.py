"""Working days (工作日) and rest days (法定休假日) on a holiday calendar.

A working day is a Monday–Friday that is not a holiday, or a weekend day that
the State Council made a make-up working day (调休). Everything else is a rest
day: Art. 203 of the Civil Code counts weekends as 法定休假日 too.

A year missing from the calendar is answered from the statutory holidays alone
(see `statutory`) and flagged provisional, so a computation that strays past the
loaded years is still deterministic and says it may change.
"""

from datetime import date, timedelta
from functools import lru_cache

from domain.legaltime.statutory import provisional_year
from domain.legaltime.wording import Note, zh_span, zh_weekday
from schemas.calendar import DayInfo, HolidayCalendar, YearCalendar

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A guard, not a limit anyone should reach: the longest rest run in Chinese practice is 9 days.
_MAX_REST_RUN = 60


@lru_cache(maxsize=32)
def _fallback_year(year: int) -> YearCalendar:
    return provisional_year(year)


def year_data(year: int, cal: HolidayCalendar) -> YearCalendar:
    """The calendar's data for a year, or the provisional statutory stand-in."""
    data = cal.years.get(year)
    return data if data is not None else _fallback_year(year)


def day_info(d: date, cal: HolidayCalendar) -> DayInfo:
    """Working or not, the holiday's name, whether a make-up day, whether provisional."""
    data = year_data(d.year, cal)
    makeup = d in data.makeup_days
    holiday = data.holidays.get(d)
    working = makeup or (d.weekday() < 5 and holiday is None)
    return DayInfo(date=d, working=working, holiday=holiday, makeup=makeup, provisional=data.provisional)


def is_working_day(d: date, cal: HolidayCalendar) -> bool:
    return day_info(d, cal).working


def describe_day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.isoformat()}"


class CalendarView:
    """Answers day questions on one calendar and remembers whether any answer was provisional.

    The period and ladder code go through one view per computation, so the result can
    say whether it rests on provisional data (and must be recomputed when the notice is out).
    """

    def __init__(self, cal: HolidayCalendar) -> None:
        self.cal = cal
        self.provisional_years: set[int] = set()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    def info(self, d: date) -> DayInfo:
        info = day_info(d, self.cal)
        if info.provisional:
            self.provisional_years.add(d.year)
        return info

    def working(self, d: date) -> bool:
        return self.info(d).working

    def step_to_working(self, d: date, direction: int) -> tuple[date, list[date]]:
        """First working day strictly after (direction 1) or before (-1) d, and the rest days passed."""
        skipped: list[date] = []
        day = d + timedelta(days=direction)
        while not self.working(day):
            skipped.append(day)
            if len(skipped) > _MAX_REST_RUN:
                raise ValueError(f"no working day within {_MAX_REST_RUN} days of {d}: the holiday data is broken")
            day += timedelta(days=direction)
        return day, skipped

    def add_working(self, d: date, n: int) -> tuple[date, list[date]]:
        """n working days from d (d itself not counted); negative n counts backwards."""
        direction = 1 if n >= 0 else -1
        day = d
        skipped: list[date] = []
        for _ in range(abs(n)):
            day, passed = self.step_to_working(day, direction)
            skipped.extend(passed)
        return day, skipped

    def rest_runs(self, days: list[date]) -> Note:
        """'2026-10-01..2026-10-07 (国庆节), 2026-10-11 (weekend)' and '2026年10月1日至7日（国庆节）、…'."""
        runs: list[list[date]] = []
        for day in sorted(days):
            if runs and day - runs[-1][-1] == timedelta(days=1):
                runs[-1].append(day)
            else:
                runs.append([day])
        en, zh = [], []
        for run in runs:
            labels = [self.info(day).holiday for day in run]
            names = sorted({name for name in labels if name})
            weekend = None in labels
            span = run[0].isoformat() if len(run) == 1 else f"{run[0].isoformat()}..{run[-1].isoformat()}"
            en.append(f"{span} ({', '.join([*names, 'weekend'] if weekend else names)})")
            # A lone weekend day reads better by its weekday: 2026年10月11日（星期日）.
            rest = zh_weekday(run[0]) if len(run) == 1 else "周末"
            zh.append(f"{zh_span(run[0], run[-1])}（{'、'.join([*names, rest] if weekend else names)}）")
        return Note(", ".join(en), "、".join(zh))


def next_working_day(d: date, cal: HolidayCalendar) -> date:
    """The first working day strictly after d."""
    return CalendarView(cal).step_to_working(d, 1)[0]


def previous_working_day(d: date, cal: HolidayCalendar) -> date:
    """The last working day strictly before d."""
    return CalendarView(cal).step_to_working(d, -1)[0]


def add_working_days(d: date, n: int, cal: HolidayCalendar) -> date:
    """Count n working days from d, not counting d itself; n < 0 counts backwards, n == 0 is d."""
    return CalendarView(cal).add_working(d, n)[0]
