"""Cross-check against the `holidays` package (test-only) on every date both cover.

chinesecalendar is our authority for published years; `holidays` (CN) is an
independent transcription of the same State Council notices. Where they disagree,
the date is listed below with what the notice says. For later years `holidays`
estimates the bridging days; we only compare the statutory days there.
"""

from datetime import date, timedelta

import holidays
import pytest

from activities.holidays import load_calendar
from domain.legaltime.days import day_info
from domain.legaltime.holidays import CHINESECALENDAR_YEARS
from domain.legaltime.statutory import statutory_holidays

# date → (our working flag, explanation). Every entry was checked against the notice.
KNOWN_DISAGREEMENTS: dict[date, tuple[bool, str]] = {
    date(2005, 12, 31): (
        False,
        "国办发明电〔2005〕35号 (the 2006 arrangement) says 12月31日(星期六)上班: Saturday 2005-12-31 was a "
        "make-up working day. chinesecalendar files make-up days by the notice's year and misses this one "
        "in 2005; `holidays` is right. No deadline we compute reaches back to 2005, so it is not overridden.",
    ),
}


@pytest.fixture(scope="module")
def cn() -> holidays.HolidayBase:
    return holidays.China(years=range(CHINESECALENDAR_YEARS.start, CHINESECALENDAR_YEARS.stop + 5))


def test_every_date_both_cover(cn: holidays.HolidayBase, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Working or not agrees on every date 2004-2026 except the listed, explained ones."""
    # An empty overrides folder: compare the library data, not whatever calendars/ holds today.
    cal = load_calendar(CHINESECALENDAR_YEARS, overrides_dir=tmp_path_factory.mktemp("no-overrides"))
    found: dict[date, bool] = {}
    day = date(CHINESECALENDAR_YEARS.start, 1, 1)
    while day.year < CHINESECALENDAR_YEARS.stop:
        ours = day_info(day, cal).working
        theirs = day in cn.weekend_workdays or (day.weekday() < 5 and day not in cn)
        if ours != theirs:
            found[day] = ours
        day += timedelta(days=1)
    assert found == {d: working for d, (working, _) in KNOWN_DISAGREEMENTS.items()}


@pytest.mark.parametrize("year", range(CHINESECALENDAR_YEARS.stop, CHINESECALENDAR_YEARS.stop + 5))
def test_statutory_days_of_provisional_years(cn: holidays.HolidayBase, year: int) -> None:
    """Our provisional days are exactly `holidays`' named days, minus its estimated observed/substitute days."""
    theirs = {d for d, name in cn.items() if d.year == year and "observed" not in name and "Day off" not in name}
    assert set(statutory_holidays(year)) == theirs
