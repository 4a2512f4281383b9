"""Loading holiday data: override files, chinesecalendar, or the provisional statutory year.

This module reads files and is only for activities and the CLI; workflow code gets a
`HolidayCalendar` in its input so that replay always sees the data the deadline was
computed with.

Precedence for a year: `calendars/<year>.toml` (the office transcribes the State
Council's 放假调休安排 the day it is published), then chinesecalendar's table, then
the provisional year built from the law (weekends + statutory holidays).
"""

import tomllib
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from chinese_calendar.constants import holidays as cc_holidays
from chinese_calendar.constants import workdays as cc_workdays

from schemas.calendar import DEFAULT_TZ, HolidayCalendar, YearCalendar
from workflows.legaltime.statutory import provisional_year

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


def default_calendars_dir() -> Path:
    """The repository's calendars/ folder (workflows/legaltime/data.py → ../../calendars)."""
    return Path(__file__).resolve().parents[2] / "calendars"


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


def read_override(path: Path) -> YearCalendar:
    """Parse one override file; every mistake is a ValueError naming the file and the field.

    Format (TOML):

        year = 2027
        source = "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)"
        provisional = false               # optional
        makeup_days = [2027-02-07]        # weekend days that are working days
        [holidays]                        # holiday name → rest days (bridging days included)
        "春节" = [2027-02-05, 2027-02-06]
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name}: not valid TOML: {exc}") from exc
    unknown = set(raw) - {"year", "source", "provisional", "makeup_days", "holidays"}
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {sorted(unknown)}")
    year = raw.get("year")
    if not isinstance(year, int) or path.stem != str(year):
        raise ValueError(f"{path.name}: 'year' must be the integer {path.stem}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{path.name}: 'source' must name the notice the data was taken from")
    holidays: dict[date, str] = {}
    table = raw.get("holidays", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path.name}: 'holidays' must be a table of name = [dates]")
    for name, days in table.items():
        if not isinstance(days, list):
            raise ValueError(f"{path.name}: holidays.{name} must be a list of dates")
        for i, value in enumerate(days):
            holidays[_as_date(value, f"{path.name}: holidays.{name}[{i}]")] = name
    makeup = [_as_date(v, f"{path.name}: makeup_days[{i}]") for i, v in enumerate(raw.get("makeup_days", []))]
    for d in [*holidays, *makeup]:
        if d.year != year:
            raise ValueError(f"{path.name}: {d} is not in {year}")
    for d in makeup:
        if d.weekday() < 5:
            raise ValueError(f"{path.name}: make-up day {d} is not a Saturday or Sunday")
        if d in holidays:
            raise ValueError(f"{path.name}: {d} is both a holiday and a make-up working day")
    provisional = raw.get("provisional", False)
    if not isinstance(provisional, bool):
        raise ValueError(f"{path.name}: 'provisional' must be true or false")
    return YearCalendar(
        year=year,
        holidays=dict(sorted(holidays.items())),
        makeup_days=sorted(makeup),
        provisional=provisional,
        source=f"{source} ({path.name})",
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


def load_year(year: int, overrides_dir: Path | None = None) -> YearCalendar:
    folder = default_calendars_dir() if overrides_dir is None else overrides_dir
    override = folder / f"{year}.toml"
    if override.is_file():
        return read_override(override)
    if year in CHINESECALENDAR_YEARS:
        return chinesecalendar_year(year)
    return provisional_year(year)


def load_calendar(years: Iterable[int], tz: str = DEFAULT_TZ, overrides_dir: Path | None = None) -> HolidayCalendar:
    """The holiday data for `years` in the office's zone; raises ValueError on a bad zone or file."""
    check_tz(tz)
    return HolidayCalendar(tz=tz, years={y: load_year(y, overrides_dir) for y in sorted(set(years))})


def missing_year_warning(today: date, cal_dir: Path | None = None) -> str | None:
    """From November on, a warning when next year's 放假调休安排 is not loaded yet."""
    if today.month < 11:
        return None
    next_year = today.year + 1
    if not load_year(next_year, cal_dir).provisional:
        return None
    folder = default_calendars_dir() if cal_dir is None else cal_dir
    return (
        f"no holiday arrangement for {next_year} yet: deadlines in {next_year} are provisional "
        f"(weekends and statutory holidays only). When the State Council publishes its "
        f"放假调休安排 for {next_year}, add {folder.name}/{next_year}.toml."
    )


@lru_cache(maxsize=64)
def _cached(first: int, last: int, tz: str) -> HolidayCalendar:
    return load_calendar(range(first, last + 1), tz)


def calendar_for(moment_or_date: date | datetime, tz: str = DEFAULT_TZ, span_years: int = 2) -> HolidayCalendar:
    """The calendar around a moment: its year, the next span_years - 1, and the year before.

    The year before is included because reminders count backwards from early-January deadlines.
    """
    zone = check_tz(tz)
    if isinstance(moment_or_date, datetime):
        aware = moment_or_date if moment_or_date.tzinfo else moment_or_date.replace(tzinfo=zone)
        year = aware.astimezone(zone).year
    else:
        year = moment_or_date.year
    # A copy, so a caller that edits its calendar cannot change everyone else's.
    return _cached(year - 1, year + max(span_years, 1) - 1, tz).model_copy(deep=True)


__all__ = [
    "CHINESECALENDAR_YEARS",
    "calendar_for",
    "check_tz",
    "default_calendars_dir",
    "load_calendar",
    "load_year",
    "missing_year_warning",
    "read_override",
]
