"""Holiday data from its sources: override files (as text), chinesecalendar, or the provisional statutory year.

Pure: the files are read by `activities.holidays` (the worker's activity and the CLI)
and handed in here as text; workflow code gets a `HolidayCalendar` in its input so
that replay always sees the data the deadline was computed with.

Precedence for a year: `calendars/<year>.toml` (the office transcribes the State
Council's 放假调休安排 the day it is published), then chinesecalendar's table, then
the provisional year built from the law (weekends + statutory holidays).
"""

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from chinese_calendar.constants import holidays as cc_holidays
from chinese_calendar.constants import workdays as cc_workdays

from domain.legaltime.statutory import provisional_year
from schemas.calendar import HolidayCalendar, YearCalendar

# chinesecalendar names holidays in English; offices read Chinese.
_CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
CHINESECALENDAR_YEARS = range(min(cc_holidays).year, max(cc_holidays).year + 1)


def check_tz(tz: str) -> ZoneInfo:
    """The zone, or a ValueError naming it (an unknown zone is bad input, not a crash)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{where}: {value!r} is not a date (write it as a TOML date, e.g. 2027-01-01)")
    return value


def parse_override(file_name: str, text: str) -> YearCalendar:
    """Parse one override file `file_name` (`<year>.toml`) with content `text`; every mistake is a
    ValueError naming the file and the field.

    Format (TOML):

        year = 2027
        source = "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)"
        provisional = false               # optional
        makeup_days = [2027-02-07]        # weekend days that are working days
        [holidays]                        # holiday name → rest days (bridging days included)
        "春节" = [2027-02-05, 2027-02-06]
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file_name}: not valid TOML: {exc}") from exc
    stem = file_name.removesuffix(".toml")
    unknown = set(raw) - {"year", "source", "provisional", "makeup_days", "holidays"}
    if unknown:
        raise ValueError(f"{file_name}: unknown keys {sorted(unknown)}")
    year = raw.get("year")
    if not isinstance(year, int) or stem != str(year):
        raise ValueError(f"{file_name}: 'year' must be the integer {stem}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{file_name}: 'source' must name the notice the data was taken from")
    holidays: dict[date, str] = {}
    table = raw.get("holidays", {})
    if not isinstance(table, dict):
        raise ValueError(f"{file_name}: 'holidays' must be a table of name = [dates]")
    for name, days in table.items():
        if not isinstance(days, list):
            raise ValueError(f"{file_name}: holidays.{name} must be a list of dates")
        for i, value in enumerate(days):
            holidays[_as_date(value, f"{file_name}: holidays.{name}[{i}]")] = name
    makeup = [_as_date(v, f"{file_name}: makeup_days[{i}]") for i, v in enumerate(raw.get("makeup_days", []))]
    for d in [*holidays, *makeup]:
        if d.year != year:
            raise ValueError(f"{file_name}: {d} is not in {year}")
    for d in makeup:
        if d.weekday() < 5:
            raise ValueError(f"{file_name}: make-up day {d} is not a Saturday or Sunday")
        if d in holidays:
            raise ValueError(f"{file_name}: {d} is both a holiday and a make-up working day")
    provisional = raw.get("provisional", False)
    if not isinstance(provisional, bool):
        raise ValueError(f"{file_name}: 'provisional' must be true or false")
    return YearCalendar(
        year=year,
        holidays=dict(sorted(holidays.items())),
        makeup_days=sorted(makeup),
        provisional=provisional,
        source=f"{source} ({file_name})",
    )


def chinesecalendar_year(year: int) -> YearCalendar:
    holidays = {d: _CHINESE_NAMES.get(name, name) for d, name in cc_holidays.items() if d.year == year}
    # Its workday table holds the make-up days; keep only weekend days, the rest are working anyway.
    makeup = sorted(d for d in cc_workdays if d.year == year and d.weekday() >= 5)
    return YearCalendar(
        year=year,
        holidays=dict(sorted(holidays.items())),
        makeup_days=makeup,
        provisional=False,
        source=f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip(),
    )


def year_calendar(year: int, override: YearCalendar | None = None) -> YearCalendar:
    """The year's data: the override when there is one, else chinesecalendar's table, else the law's."""
    if override is not None:
        return override
    if year in CHINESECALENDAR_YEARS:
        return chinesecalendar_year(year)
    return provisional_year(year)


def build_calendar(years: Iterable[int], tz: str, overrides: Mapping[int, YearCalendar]) -> HolidayCalendar:
    """The holiday data for `years` in the office's zone; raises ValueError on a bad zone."""
    check_tz(tz)
    return HolidayCalendar(tz=tz, years={y: year_calendar(y, overrides.get(y)) for y in sorted(set(years))})


def missing_year_message(next_year: YearCalendar, folder_name: str) -> str | None:
    """A warning when next year's 放假调休安排 is not loaded yet (its data is still provisional)."""
    if not next_year.provisional:
        return None
    year = next_year.year
    return (
        f"no holiday arrangement for {year} yet: deadlines in {year} are provisional "
        f"(weekends and statutory holidays only). When the State Council publishes its "
        f"放假调休安排 for {year}, add {folder_name}/{year}.toml."
    )


__all__ = [
    "CHINESECALENDAR_YEARS",
    "build_calendar",
    "check_tz",
    "chinesecalendar_year",
    "missing_year_message",
    "parse_override",
    "year_calendar",
]
