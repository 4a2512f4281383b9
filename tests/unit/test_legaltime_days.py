"""Working days on real calendars: 2017, 2025, 2026 (chinesecalendar) and provisional 2027."""

from datetime import date

import pytest

from activities.holidays import load_calendar
from domain.legaltime.days import (
    add_working_days,
    day_info,
    is_working_day,
    next_working_day,
    previous_working_day,
)
from schemas.calendar import HolidayCalendar


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return load_calendar([2016, 2017, 2018, 2024, 2025, 2026, 2027])


# (date, working, holiday, makeup, provisional)
DAYS = [
    # 2017 National Day + Mid-Autumn: Oct 1-8 off, Saturday Sep 30 worked.
    (date(2017, 9, 29), True, None, False, False),
    (date(2017, 9, 30), True, None, True, False),
    (date(2017, 10, 1), False, "国庆节", False, False),
    (date(2017, 10, 4), False, "中秋节", False, False),
    (date(2017, 10, 8), False, "国庆节", False, False),
    (date(2017, 10, 9), True, None, False, False),
    # 2025: four-day Spring Festival (the 2024 revision) inside Jan 28 - Feb 4; Jan 26 and Feb 8 worked.
    (date(2025, 1, 26), True, None, True, False),
    (date(2025, 1, 28), False, "春节", False, False),
    (date(2025, 2, 4), False, "春节", False, False),
    (date(2025, 2, 8), True, None, True, False),
    (date(2025, 10, 8), False, "国庆节", False, False),
    (date(2025, 10, 11), True, None, True, False),
    # 2026 Spring Festival: Feb 15-23 off, Saturdays Feb 14 and Feb 28 worked.
    (date(2026, 2, 14), True, None, True, False),
    (date(2026, 2, 15), False, "春节", False, False),
    (date(2026, 2, 23), False, "春节", False, False),
    (date(2026, 2, 24), True, None, False, False),
    (date(2026, 2, 28), True, None, True, False),
    # 2026 National Day: Sunday Sep 20 and Saturday Oct 10 worked; Mid-Autumn Sep 25.
    (date(2026, 9, 20), True, None, True, False),
    (date(2026, 9, 25), False, "中秋节", False, False),
    (date(2026, 10, 1), False, "国庆节", False, False),
    (date(2026, 10, 7), False, "国庆节", False, False),
    (date(2026, 10, 8), True, None, False, False),
    (date(2026, 10, 10), True, None, True, False),
    # The Dec 13 2026 annual summary deadline is a plain Sunday.
    (date(2026, 12, 13), False, None, False, False),
    (date(2026, 12, 14), True, None, False, False),
    # 2027 is provisional: Spring Festival from the lunar calendar (New Year Sat Feb 6, eve Feb 5).
    (date(2027, 1, 1), False, "元旦", False, True),
    (date(2027, 2, 4), True, None, False, True),
    (date(2027, 2, 5), False, "春节", False, True),
    (date(2027, 2, 8), False, "春节", False, True),
    (date(2027, 2, 9), True, None, False, True),
    (date(2027, 4, 5), False, "清明节", False, True),
    (date(2027, 6, 9), False, "端午节", False, True),
    (date(2027, 9, 15), False, "中秋节", False, True),
    (date(2027, 10, 4), True, None, False, True),
]


class TestDayInfo:
    @pytest.mark.parametrize(("d", "working", "holiday", "makeup", "provisional"), DAYS, ids=str)
    def test_real_dates(
        self, cal: HolidayCalendar, d: date, working: bool, holiday: str | None, makeup: bool, provisional: bool
    ) -> None:
        """Each answer matches the State Council's arrangement (or the statutory days for 2027)."""
        info = day_info(d, cal)
        assert (info.working, info.holiday, info.makeup, info.provisional) == (working, holiday, makeup, provisional)
        assert is_working_day(d, cal) is working

    def test_missing_year_falls_back_to_provisional_statutory_days(self) -> None:
        """A year absent from the calendar is answered from the law and flagged provisional."""
        empty = HolidayCalendar()
        info = day_info(date(2026, 10, 2), empty)
        assert info.provisional
        assert not info.working
        assert info.holiday == "国庆节"
        # The bridging days of the real 2026 arrangement are unknown to the statutory fallback.
        assert day_info(date(2026, 10, 6), empty).working


class TestWorkingDayArithmetic:
    def test_next_and_previous_skip_the_national_day_week(self, cal: HolidayCalendar) -> None:
        """Next/previous are strictly after/before and skip the whole holiday block."""
        assert next_working_day(date(2026, 9, 30), cal) == date(2026, 10, 8)
        assert previous_working_day(date(2026, 10, 8), cal) == date(2026, 9, 30)
        assert next_working_day(date(2017, 9, 29), cal) == date(2017, 9, 30)

    @pytest.mark.parametrize(
        ("start", "n", "expected"),
        [
            (date(2017, 9, 28), 1, date(2017, 9, 29)),
            (date(2017, 9, 28), 2, date(2017, 9, 30)),  # the make-up Saturday counts
            (date(2017, 9, 28), 3, date(2017, 10, 9)),
            (date(2017, 10, 9), -1, date(2017, 9, 30)),
            (date(2017, 10, 9), -3, date(2017, 9, 28)),
            (date(2026, 9, 28), 5, date(2026, 10, 10)),
            (date(2026, 2, 13), 1, date(2026, 2, 14)),
            (date(2026, 2, 14), 1, date(2026, 2, 24)),
            (date(2026, 12, 13), 0, date(2026, 12, 13)),
            (date(2026, 12, 31), 1, date(2027, 1, 4)),
        ],
    )
    def test_add_working_days(self, cal: HolidayCalendar, start: date, n: int, expected: date) -> None:
        """The start day is not counted; negative counts go backwards; make-up days count."""
        assert add_working_days(start, n, cal) == expected
