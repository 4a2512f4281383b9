"""Holiday files: read here (by the worker's activity and by the CLI), then handed to pure code as data.

A cycle opened by a Schedule loads its holiday data through `load_holidays`, so the
data is fixed in the workflow's history and replay never changes a computed deadline.
"""

import asyncio
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from temporalio import activity

from domain.legaltime.holidays import build_calendar, check_tz, missing_year_message, parse_override, year_calendar
from schemas.activities import HolidayActivity
from schemas.calendar import DEFAULT_TZ, HolidayCalendar, YearCalendar
from schemas.cycle import HolidayRequest

# The calendars/ folder of a source checkout; an installed duban is told where its folder is
# (`DUBAN_CALENDARS_DIR`, see workers.settings), so nothing depends on where the packages sit.
CHECKOUT_CALENDARS = Path(__file__).resolve().parent.parent / "calendars"


def read_override(path: Path) -> YearCalendar:
    """One override file; every mistake is a ValueError naming the file and the field."""
    return parse_override(path.name, path.read_text(encoding="utf-8"))


def read_overrides(years: Iterable[int], folder: Path | None = None) -> dict[int, YearCalendar]:
    """The override files `folder/<year>.toml` that exist for `years`."""
    folder = CHECKOUT_CALENDARS if folder is None else folder
    paths = {year: folder / f"{year}.toml" for year in set(years)}
    return {year: read_override(path) for year, path in paths.items() if path.is_file()}


def load_year(year: int, overrides_dir: Path | None = None) -> YearCalendar:
    return year_calendar(year, read_overrides([year], overrides_dir).get(year))


def load_calendar(years: Iterable[int], tz: str = DEFAULT_TZ, overrides_dir: Path | None = None) -> HolidayCalendar:
    """The holiday data for `years` in the office's zone; raises ValueError on a bad zone or file."""
    check_tz(tz)
    wanted = sorted(set(years))
    return build_calendar(wanted, tz, read_overrides(wanted, overrides_dir))


def missing_year_warning(today: date, cal_dir: Path | None = None) -> str | None:
    """From November on, a warning when next year's 放假调休安排 is not loaded yet."""
    if today.month < 11:
        return None
    folder = CHECKOUT_CALENDARS if cal_dir is None else cal_dir
    return missing_year_message(load_year(today.year + 1, folder), folder.name)


def cycle_years(period: str, due: datetime) -> set[int]:
    """The years a cycle's holiday data covers: around its period's year (`2026-Y`) and its deadline's."""
    year = int(period[:4]) if period[:4].isdigit() else due.year
    return {year - 1, year, year + 1, due.year}


def published(years: Iterable[int], folder: Path | None = None) -> set[int]:
    """Those of `years` whose 放假调休安排 is out: an override file, or chinesecalendar covers them."""
    return {year for year in set(years) if not load_year(year, folder).provisional}


@lru_cache(maxsize=64)
def _cached(first: int, last: int, tz: str, folder: Path | None) -> HolidayCalendar:
    return load_calendar(range(first, last + 1), tz, folder)


def calendar_for(
    moment_or_date: date | datetime, tz: str = DEFAULT_TZ, span_years: int = 2, overrides_dir: Path | None = None
) -> HolidayCalendar:
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
    return _cached(year - 1, year + max(span_years, 1) - 1, tz, overrides_dir).model_copy(deep=True)


class HolidayFiles(HolidayActivity):
    """The worker's holiday activity, reading the override folder it was given."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    @activity.defn(name="load_holidays")
    async def load_holidays(self, request: HolidayRequest) -> HolidayCalendar:
        return await asyncio.to_thread(load_calendar, request.years, request.tz, self.folder)
