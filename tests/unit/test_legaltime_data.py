"""Holiday data loading: override files first, then chinesecalendar, then the provisional statutory year."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.holidays import (
    CHECKOUT_CALENDARS,
    calendar_for,
    load_calendar,
    missing_year_warning,
)
from domain.legaltime.days import day_info
from domain.legaltime.statutory import statutory_holidays

OVERRIDE_2027 = """
year = 2027
source = "a test transcription of a 2027 arrangement"
makeup_days = [2027-02-07]
[holidays]
"元旦" = [2027-01-01, 2027-01-02, 2027-01-03]
"春节" = [2027-02-05, 2027-02-06, 2027-02-08, 2027-02-09]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class TestSources:
    def test_chinesecalendar_years_are_not_provisional(self, tmp_path: Path) -> None:
        """2004-2026 come from chinesecalendar with make-up days and Chinese names."""
        cal = load_calendar([2017, 2026], overrides_dir=tmp_path)
        assert not cal.years[2017].provisional
        assert date(2017, 9, 30) in cal.years[2017].makeup_days
        assert cal.years[2026].holidays[date(2026, 10, 1)] == "国庆节"
        assert cal.years[2026].source.startswith("chinesecalendar")

    def test_later_year_is_provisional_statutory(self, tmp_path: Path) -> None:
        """2027 has no data yet: weekends plus the 13 statutory days, flagged."""
        year = load_calendar([2027], overrides_dir=tmp_path).years[2027]
        assert year.provisional
        assert year.makeup_days == []
        assert len(year.holidays) == 13
        assert "全国年节及纪念日放假办法" in year.source

    def test_override_takes_precedence(self, tmp_path: Path) -> None:
        """A calendars/<year>.toml file replaces every other source for that year."""
        write(tmp_path, "2027.toml", OVERRIDE_2027)
        cal = load_calendar([2027], overrides_dir=tmp_path)
        assert not cal.years[2027].provisional
        assert day_info(date(2027, 2, 7), cal).makeup
        assert day_info(date(2027, 2, 9), cal).holiday == "春节"
        assert "2027.toml" in cal.years[2027].source

    def test_override_can_correct_a_chinesecalendar_year(self, tmp_path: Path) -> None:
        """An override for a covered year wins too (e.g. to fix a data error)."""
        write(tmp_path, "2026.toml", 'year = 2026\nsource = "test"\n[holidays]\n"test day" = [2026-12-14]\n')
        cal = load_calendar([2026], overrides_dir=tmp_path)
        assert not day_info(date(2026, 12, 14), cal).working
        assert day_info(date(2026, 10, 1), cal).working  # the file is the whole year

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("year = 2027\n", "source"),
            ('year = 2026\nsource = "x"\n', "must be the integer 2027"),
            ('year = 2027\nsource = "x"\nmakeup_days = [2027-02-08]\n', "not a Saturday or Sunday"),
            ('year = 2027\nsource = "x"\nmakeup_days = ["soon"]\n', "not a date"),
            ('year = 2027\nsource = "x"\n[holidays]\n"a" = [2026-12-31]\n', "not in 2027"),
            ('year = 2027\nsource = "x"\nextra = 1\n', "unknown keys"),
            ("year = = 2027", "not valid TOML"),
        ],
    )
    def test_bad_override_is_refused(self, tmp_path: Path, text: str, message: str) -> None:
        """A broken override file is an error naming the file, never silently ignored."""
        write(tmp_path, "2027.toml", text)
        with pytest.raises(ValueError, match=message):
            load_calendar([2027], overrides_dir=tmp_path)

    def test_unknown_zone_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown time zone"):
            load_calendar([2026], tz="Mars/Olympus")

    def test_repo_calendars_folder(self) -> None:
        """The default overrides folder is the repository's calendars/."""
        assert CHECKOUT_CALENDARS.name == "calendars"
        assert (CHECKOUT_CALENDARS.parent / "domain" / "legaltime").is_dir()


class TestStatutoryHolidays:
    @pytest.mark.parametrize(
        ("year", "eve", "qingming", "dragon_boat", "mid_autumn"),
        [
            # lunar New Year 2027-02-06, 2028-01-26, 2029-02-13
            (2027, date(2027, 2, 5), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)),
            (2028, date(2028, 1, 25), date(2028, 4, 4), date(2028, 5, 28), date(2028, 10, 3)),
            (2029, date(2029, 2, 12), date(2029, 4, 4), date(2029, 6, 16), date(2029, 9, 22)),
        ],
    )
    def test_lunar_and_solar_term_days(
        self, year: int, eve: date, qingming: date, dragon_boat: date, mid_autumn: date
    ) -> None:
        """Spring Festival is New Year's Eve + 3 days; Qingming is the solar term; lunar 5/5 and 8/15."""
        days = statutory_holidays(year)
        spring = sorted(d for d, name in days.items() if name == "春节")
        assert spring[0] == eve
        assert len(spring) == 4
        assert days[qingming] == "清明节"
        assert days[dragon_boat] == "端午节"
        # Mid-Autumn 2028 falls on Oct 3, inside National Day: one block named 国庆节.
        assert days[mid_autumn] in ("中秋节", "国庆节")

    @given(st.integers(min_value=2027, max_value=2099))
    def test_thirteen_days_or_twelve_when_mid_autumn_meets_national_day(self, year: int) -> None:
        """Art. 2 gives 13 days; they coincide only when Mid-Autumn is Oct 1-3."""
        days = statutory_holidays(year)
        assert len(days) in (12, 13)
        assert all(d.year == year for d in days)


class TestMissingYearWarning:
    def test_quiet_before_november(self, tmp_path: Path) -> None:
        assert missing_year_warning(date(2026, 10, 31), tmp_path) is None

    def test_warns_in_november_without_next_year(self, tmp_path: Path) -> None:
        """Late 2026, with no 2027 data, operators are told to add calendars/2027.toml."""
        warning = missing_year_warning(date(2026, 11, 28), tmp_path)
        assert warning is not None
        assert "2027" in warning
        assert "2027.toml" in warning

    def test_quiet_when_next_year_is_covered(self, tmp_path: Path) -> None:
        """chinesecalendar covers 2026, so November 2025 is fine; an override file silences 2027."""
        assert missing_year_warning(date(2025, 11, 5), tmp_path) is None
        write(tmp_path, "2027.toml", OVERRIDE_2027)
        assert missing_year_warning(date(2026, 12, 1), tmp_path) is None

    def test_provisional_override_still_warns(self, tmp_path: Path) -> None:
        """An override explicitly marked provisional is not the published arrangement."""
        write(tmp_path, "2027.toml", OVERRIDE_2027.replace("makeup_days", "provisional = true\nmakeup_days"))
        assert missing_year_warning(date(2026, 12, 1), tmp_path) is not None


class TestCalendarFor:
    def test_loads_previous_current_and_next_year(self) -> None:
        cal = calendar_for(date(2026, 12, 13))
        assert sorted(cal.years) == [2025, 2026, 2027]

    def test_aware_moment_uses_office_zone(self) -> None:
        """2026-12-31 20:00 UTC is already 2027 in Shanghai."""
        cal = calendar_for(datetime(2026, 12, 31, 20, 0, tzinfo=UTC))
        assert sorted(cal.years) == [2026, 2027, 2028]

    def test_returned_calendar_is_a_private_copy(self) -> None:
        """Editing one caller's calendar does not change the cached one."""
        first = calendar_for(date(2026, 1, 1))
        first.years.clear()
        assert calendar_for(date(2026, 1, 1)).years
