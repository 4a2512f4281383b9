"""Due moments by the Civil Code (Arts. 201-203) and working-day rules, on real calendars."""

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.holidays import load_calendar
from domain.legaltime.periods import add_months, compute_due
from schemas.calendar import DueRule, HolidayCalendar, Roll, RuleKind

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return load_calendar(range(2016, 2029))


def local(due_at: datetime) -> str:
    return due_at.astimezone(SHANGHAI).isoformat()


CASES = [
    # The 2026 annual summary: Sunday Dec 13.
    ("dec13-next", date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), "2026-12-14T23:59:59+08:00"),
    ("dec13-none", date(2026, 12, 13), DueRule(kind=RuleKind.FIXED, roll=Roll.NONE), "2026-12-13T23:59:59+08:00"),
    (
        "dec13-previous",
        date(2026, 12, 13),
        DueRule(kind=RuleKind.FIXED, roll=Roll.PREVIOUS),
        "2026-12-11T23:59:59+08:00",
    ),
    # Province deadline Tuesday Dec 15: a working day, nothing to roll.
    ("dec15", date(2026, 12, 15), DueRule(kind=RuleKind.FIXED), "2026-12-15T23:59:59+08:00"),
    # Calendar days: start day not counted; Art. 203 rolls past the whole holiday block.
    ("days-into-nd2017", date(2017, 9, 21), DueRule(kind=RuleKind.DAYS, n=10), "2017-10-09T23:59:59+08:00"),
    ("days-makeup-sat", date(2017, 9, 20), DueRule(kind=RuleKind.DAYS, n=10), "2017-09-30T23:59:59+08:00"),
    ("days-makeup-sun-2026", date(2026, 9, 10), DueRule(kind=RuleKind.DAYS, n=10), "2026-09-20T23:59:59+08:00"),
    ("days-spring-2026", date(2026, 2, 10), DueRule(kind=RuleKind.DAYS, n=5), "2026-02-24T23:59:59+08:00"),
    ("days-no-roll", date(2017, 9, 21), DueRule(kind=RuleKind.DAYS, n=10, roll=Roll.NONE), "2017-10-01T23:59:59+08:00"),
    # Working days: weekends and holidays skipped, make-up days counted.
    ("wd-nd2026", date(2026, 9, 28), DueRule(kind=RuleKind.WORKING_DAYS, n=5), "2026-10-10T23:59:59+08:00"),
    ("wd-nd2017", date(2017, 9, 27), DueRule(kind=RuleKind.WORKING_DAYS, n=3), "2017-09-30T23:59:59+08:00"),
    # Fri Jan 24 2025: Sunday Jan 26 is a make-up day, then the Spring Festival block Jan 28 - Feb 4.
    ("wd-spring-2025-2", date(2025, 1, 24), DueRule(kind=RuleKind.WORKING_DAYS, n=2), "2025-01-27T23:59:59+08:00"),
    ("wd-spring-2025-3", date(2025, 1, 24), DueRule(kind=RuleKind.WORKING_DAYS, n=3), "2025-02-05T23:59:59+08:00"),
    ("wd-from-rest-day", date(2026, 10, 3), DueRule(kind=RuleKind.WORKING_DAYS, n=1), "2026-10-08T23:59:59+08:00"),
    # Months: Art. 202 month-end, then Art. 203.
    ("jan31+1m-2025", date(2025, 1, 31), DueRule(kind=RuleKind.MONTHS, n=1), "2025-02-28T23:59:59+08:00"),
    ("jan31+1m-2024-leap", date(2024, 1, 31), DueRule(kind=RuleKind.MONTHS, n=1), "2024-02-29T23:59:59+08:00"),
    # Feb 28 2026 is itself a make-up Saturday: not rolled.
    ("jan31+1m-2026-makeup", date(2026, 1, 31), DueRule(kind=RuleKind.MONTHS, n=1), "2026-02-28T23:59:59+08:00"),
    ("aug31+1m-2026", date(2026, 8, 31), DueRule(kind=RuleKind.MONTHS, n=1), "2026-09-30T23:59:59+08:00"),
    ("sep1+1m-2026", date(2026, 9, 1), DueRule(kind=RuleKind.MONTHS, n=1), "2026-10-08T23:59:59+08:00"),
    # Nov 30 + 3 months: no Feb 30, so Feb 28 2026, which is a make-up Saturday.
    ("months-across-year", date(2025, 11, 30), DueRule(kind=RuleKind.MONTHS, n=3), "2026-02-28T23:59:59+08:00"),
    ("months-into-holiday", date(2026, 1, 15), DueRule(kind=RuleKind.MONTHS, n=1), "2026-02-24T23:59:59+08:00"),
    # Close of business instead of 24:00.
    (
        "close",
        date(2026, 12, 13),
        DueRule(kind=RuleKind.FIXED, close=time(17, 30)),
        "2026-12-14T17:30:00+08:00",
    ),
    # Hours and minutes: from the exact moment, never rolled (Dec 13 2026 is a Sunday).
    ("hours", datetime(2026, 12, 11, 10, 0), DueRule(kind=RuleKind.HOURS, n=48), "2026-12-13T10:00:00+08:00"),
    ("hours-24", datetime(2026, 9, 30, 16, 0), DueRule(kind=RuleKind.HOURS, n=24), "2026-10-01T16:00:00+08:00"),
    ("minutes", datetime(2026, 12, 13, 23, 50), DueRule(kind=RuleKind.MINUTES, n=30), "2026-12-14T00:20:00+08:00"),
    # An aware start is converted to the office's zone first: 2026-12-12 20:00 UTC is Dec 13 04:00 local.
    (
        "aware-start",
        datetime(2026, 12, 12, 20, 0, tzinfo=UTC),
        DueRule(kind=RuleKind.FIXED, roll=Roll.NONE),
        "2026-12-13T23:59:59+08:00",
    ),
]


class TestComputeDue:
    @pytest.mark.parametrize(("start", "rule", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
    def test_real_dates(self, cal: HolidayCalendar, start: date | datetime, rule: DueRule, expected: str) -> None:
        """The due moment matches the law's count on the real calendar."""
        due = compute_due(start, rule, cal)
        assert local(due.at) == expected
        assert due.at.tzinfo is not None
        assert due.at.utcoffset() == UTC.utcoffset(None)
        assert not due.provisional

    def test_dec13_rule_text_names_the_roll(self, cal: HolidayCalendar) -> None:
        """The explanation says why Sunday Dec 13 became Monday Dec 14."""
        rule = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), cal).rule
        assert "2026-12-13 is a Sunday, rolled to Monday 2026-12-14" in rule
        assert "Art. 203" in rule

    def test_working_day_rule_text_lists_skipped_days(self, cal: HolidayCalendar) -> None:
        """The explanation lists the holiday block that was skipped and the make-up day that counted."""
        rule = compute_due(date(2026, 9, 28), DueRule(kind=RuleKind.WORKING_DAYS, n=5), cal).rule
        assert "5 working days from 2026-09-28" in rule
        assert "skipping 2026-10-01..2026-10-07 (国庆节)" in rule
        assert "make-up working day Saturday 2026-10-10" in rule

    def test_makeup_saturday_is_not_rolled(self, cal: HolidayCalendar) -> None:
        """A fixed deadline on a make-up Saturday stays there, and the text says why."""
        due = compute_due(date(2017, 9, 30), DueRule(kind=RuleKind.FIXED), cal)
        assert local(due.at) == "2017-09-30T23:59:59+08:00"
        assert "make-up working day" in due.rule

    def test_month_end_text_cites_art_202(self, cal: HolidayCalendar) -> None:
        """Jan 31 + 1 month explains the missing day."""
        assert "Art. 202" in compute_due(date(2025, 1, 31), DueRule(kind=RuleKind.MONTHS, n=1), cal).rule


class TestChineseRule:
    """The Chinese explanation (rule_zh) states the same facts as the English one, for government staff."""

    def test_dec13_sunday_rolls_to_monday(self, cal: HolidayCalendar) -> None:
        """The 2026 annual summary: the Sunday, the article, the Monday and the clock in one sentence."""
        due = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), cal)
        assert due.rule_zh == (
            "规定截止日2026年12月13日为星期日，依《民法典》第二百零三条顺延至2026年12月14日（星期一）24:00"
        )

    def test_dec13_roll_none_and_previous(self, cal: HolidayCalendar) -> None:
        """A rule that does not roll says so; rolling back is not Art. 203 and cites nothing."""
        none = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED, roll=Roll.NONE), cal).rule_zh
        assert none == "规定截止日2026年12月13日为星期日，本规则不顺延，截止当日24:00"
        back = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED, roll=Roll.PREVIOUS), cal).rule_zh
        assert back == "规定截止日2026年12月13日为星期日，提前至2026年12月11日（星期五）24:00"

    def test_national_day_2026_working_days(self, cal: HolidayCalendar) -> None:
        """5 working days from Sep 28 2026: the holiday week skipped, Saturday Oct 10 counted."""
        due = compute_due(date(2026, 9, 28), DueRule(kind=RuleKind.WORKING_DAYS, n=5), cal)
        assert due.rule_zh == (
            "自2026年9月28日起（当日不计入）计5个工作日，跳过2026年10月1日至7日（国庆节），"
            "计入调休上班日2026年10月10日（星期六），截止2026年10月10日（星期六）24:00"
        )

    def test_minutes_from_the_stated_moment(self, cal: HolidayCalendar) -> None:
        """An exact-moment period cites Art. 201 and is never rolled."""
        due = compute_due(datetime(2026, 11, 28, 13, 8), DueRule(kind=RuleKind.MINUTES, n=6), cal)
        assert due.rule_zh == (
            "自2026年11月28日13:08起计算6分钟（《民法典》第二百零一条：按小时计算的期间自规定时起算，不顺延），"
            "截止2026年11月28日13:14"
        )

    def test_hours_over_a_weekend(self, cal: HolidayCalendar) -> None:
        """48 hours ending on Sunday Dec 13 stay on Sunday."""
        due = compute_due(datetime(2026, 12, 11, 10, 0), DueRule(kind=RuleKind.HOURS, n=48), cal)
        assert due.rule_zh.startswith("自2026年12月11日10:00起计算48小时")
        assert due.rule_zh.endswith("截止2026年12月13日10:00")

    def test_days_into_a_holiday_block(self, cal: HolidayCalendar) -> None:
        """Calendar days: start day not counted (Art. 201), then rolled past 国庆节 (Art. 203)."""
        due = compute_due(date(2017, 9, 21), DueRule(kind=RuleKind.DAYS, n=10), cal)
        assert due.rule_zh == (
            "自2017年9月21日起计10日（《民法典》第二百零一条：开始的当日不计入），"
            "期间最后一日2017年10月1日为国庆节假期，依《民法典》第二百零三条顺延至2017年10月9日（星期一）24:00"
        )

    def test_makeup_day_is_not_rolled(self, cal: HolidayCalendar) -> None:
        due = compute_due(date(2026, 9, 10), DueRule(kind=RuleKind.DAYS, n=10), cal)
        assert "期间最后一日2026年9月20日（星期日）为调休上班日，不顺延，截止当日24:00" in due.rule_zh

    def test_month_end_and_close_of_business(self, cal: HolidayCalendar) -> None:
        """Art. 202's month end, and a close-of-business clock instead of 24:00."""
        month = compute_due(date(2025, 1, 31), DueRule(kind=RuleKind.MONTHS, n=1), cal).rule_zh
        assert month == (
            "自2025年1月31日起计1个月，2025年2月没有31日，"
            "依《民法典》第二百零二条以该月最后一日为期间最后一日，即2025年2月28日（星期五）24:00"
        )
        close = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED, close=time(17, 30)), cal).rule_zh
        assert close.endswith("顺延至2026年12月14日（星期一）17:30（下班时间）")

    def test_provisional_2027_names_the_year(self, cal: HolidayCalendar) -> None:
        """Counting into 2027 (no arrangement yet) says which year and that it will be recounted."""
        due = compute_due(date(2027, 2, 1), DueRule(kind=RuleKind.DAYS, n=4), cal)
        assert due.provisional
        assert "2027年2月5日为春节假期，依《民法典》第二百零三条顺延至2027年2月9日（星期二）24:00" in due.rule_zh
        assert due.rule_zh.endswith("；2027年放假安排尚未公布，暂按法定节假日推算，公布后将重新计算")

    def test_final_deadline_has_no_provisional_sentence(self, cal: HolidayCalendar) -> None:
        assert "尚未公布" not in compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), cal).rule_zh

    @pytest.mark.parametrize(("start", "rule", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
    def test_every_case_is_explained_in_chinese(
        self, cal: HolidayCalendar, start: date | datetime, rule: DueRule, expected: str
    ) -> None:
        """Every rule kind fills rule_zh, in Chinese dates (no ISO dates, no English words)."""
        zh = compute_due(start, rule, cal).rule_zh
        assert zh
        assert not any(ch.isascii() and ch.isalpha() for ch in zh), zh
        assert "-" not in zh


class TestProvisional:
    def test_2027_spring_festival_is_provisional(self, cal: HolidayCalendar) -> None:
        """A deadline in the provisional year rolls past the lunar-computed Spring Festival and says so."""
        due = compute_due(date(2027, 2, 1), DueRule(kind=RuleKind.DAYS, n=4), cal)
        assert local(due.at) == "2027-02-09T23:59:59+08:00"
        assert due.provisional
        assert "provisional" in due.rule

    def test_working_days_into_2027_are_provisional(self, cal: HolidayCalendar) -> None:
        """Counting across the year end into provisional data flags the result."""
        due = compute_due(date(2026, 12, 25), DueRule(kind=RuleKind.WORKING_DAYS, n=10), cal)
        assert due.provisional
        assert local(due.at) == "2027-01-11T23:59:59+08:00"

    def test_2026_only_is_not_provisional(self, cal: HolidayCalendar) -> None:
        """Days consulted only in published years do not carry the flag."""
        assert not compute_due(date(2026, 12, 1), DueRule(kind=RuleKind.WORKING_DAYS, n=10), cal).provisional

    def test_hours_consult_no_calendar(self) -> None:
        """An hour period needs no holiday data, so it is never provisional."""
        due = compute_due(datetime(2027, 2, 5, 9, 0), DueRule(kind=RuleKind.HOURS, n=24), HolidayCalendar())
        assert not due.provisional
        assert local(due.at) == "2027-02-06T09:00:00+08:00"


class TestAddMonths:
    @pytest.mark.parametrize(
        ("start", "n", "expected"),
        [
            (date(2025, 1, 31), 1, date(2025, 2, 28)),
            (date(2024, 1, 31), 1, date(2024, 2, 29)),
            (date(2025, 3, 31), 1, date(2025, 4, 30)),
            (date(2025, 12, 15), 1, date(2026, 1, 15)),
            (date(2025, 8, 31), 6, date(2026, 2, 28)),
            (date(2025, 5, 15), 24, date(2027, 5, 15)),
        ],
    )
    def test_corresponding_day_or_month_end(self, start: date, n: int, expected: date) -> None:
        """Art. 202: the corresponding day, else the last day of the month."""
        assert add_months(start, n) == expected

    @given(start=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), n=st.integers(1, 120))
    def test_matches_the_article_for_any_start(self, start: date, n: int) -> None:
        """For any start and count, the month is n later and the day is the start's, or that month's last."""
        end = add_months(start, n)
        assert type(end) is date  # a plain date, never a pendulum subclass
        assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == n
        assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])


class TestOtherZones:
    def test_due_in_office_zone(self) -> None:
        """An office in another zone gets 24:00 of its own day."""
        cal = load_calendar([2026], tz="Asia/Urumqi")
        due = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), cal)
        assert due.at.astimezone(ZoneInfo("Asia/Urumqi")).isoformat() == "2026-12-14T23:59:59+06:00"
        assert due.tz == "Asia/Urumqi"
