"""Reminder (催办) and escalation (督办) ladders placed on the 2026 calendar."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from activities.holidays import load_calendar
from domain.legaltime.ladder import escalation_moments, reminder_moments
from domain.legaltime.periods import compute_due
from schemas.calendar import DueRule, HolidayCalendar, LadderStep, Roll, RuleKind, SendWindow, StepUnit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return load_calendar([2025, 2026, 2027])


def at(cal: HolidayCalendar, start: date, **rule: object) -> datetime:
    return compute_due(start, DueRule.model_validate({"kind": RuleKind.FIXED, **rule}), cal).at


def placed(moments: list, key: str) -> str:  # type: ignore[type-arg]
    return next(m.at.astimezone(SHANGHAI).isoformat() for m in moments if m.key == key)


LADDER = [
    LadderStep(key="wd3", offset=3),
    LadderStep(key="d1", offset=1, unit=StepUnit.DAYS),
    LadderStep(key="day0", offset=0),
    LadderStep(key="h2", offset=2, unit=StepUnit.HOURS),
    LadderStep(key="urgent-h2", offset=2, unit=StepUnit.HOURS, urgent=True),
]


class TestReminders:
    def test_dec14_monday_deadline(self, cal: HolidayCalendar) -> None:
        """Due Mon 2026-12-14 24:00: rungs land in the morning window, the hour rung at window end."""
        moments = reminder_moments(at(cal, date(2026, 12, 13)), LADDER, cal)
        assert placed(moments, "wd3") == "2026-12-09T09:00:00+08:00"
        assert placed(moments, "d1") == "2026-12-11T09:00:00+08:00"  # Sunday Dec 13 -> Friday
        assert placed(moments, "day0") == "2026-12-14T09:00:00+08:00"
        assert placed(moments, "h2") == "2026-12-14T18:00:00+08:00"  # 21:59 is night: earlier, same day
        assert placed(moments, "urgent-h2") == "2026-12-14T21:59:59+08:00"

    def test_sunday_deadline_without_roll(self, cal: HolidayCalendar) -> None:
        """Due Sunday Dec 13 (roll none): the due-day reminder moves to Friday, never past due."""
        due = at(cal, date(2026, 12, 13), roll=Roll.NONE)
        moments = reminder_moments(due, LADDER, cal)
        assert placed(moments, "day0") == "2026-12-11T09:00:00+08:00"
        assert placed(moments, "h2") == "2026-12-11T18:00:00+08:00"
        assert "rest day" in next(m.rule for m in moments if m.key == "day0")
        assert all(m.at <= due for m in moments)

    def test_sorted_utc_and_keyed(self, cal: HolidayCalendar) -> None:
        """Results are in time order, in UTC, one per step."""
        moments = reminder_moments(at(cal, date(2026, 12, 13)), LADDER, cal)
        assert [m.at for m in moments] == sorted(m.at for m in moments)
        assert all(m.at.tzinfo is UTC for m in moments)
        assert sorted(m.key for m in moments) == sorted(s.key for s in LADDER)

    def test_across_national_day(self, cal: HolidayCalendar) -> None:
        """3 working days before Fri Oct 9 2026 skips the holiday week back to Sep 29."""
        moments = reminder_moments(at(cal, date(2026, 10, 9)), [LadderStep(key="r", offset=3)], cal)
        assert placed(moments, "r") == "2026-09-29T09:00:00+08:00"

    def test_due_before_the_window_opens(self, cal: HolidayCalendar) -> None:
        """A due moment at 08:00: the due-day morning rung would be after it, so it goes the evening before."""
        due = datetime(2026, 12, 15, 8, 0, tzinfo=SHANGHAI)
        moments = reminder_moments(due, [LadderStep(key="day0", offset=0)], cal)
        assert placed(moments, "day0") == "2026-12-14T18:00:00+08:00"

    def test_custom_window(self, cal: HolidayCalendar) -> None:
        window = SendWindow(start=time(8, 30), end=time(17, 30))
        moments = reminder_moments(at(cal, date(2026, 12, 15)), [LadderStep(key="r", offset=1)], cal, window)
        assert placed(moments, "r") == "2026-12-14T08:30:00+08:00"

    def test_provisional_flag(self, cal: HolidayCalendar) -> None:
        """A rung placed on 2027 days carries the provisional flag."""
        due = datetime(2027, 2, 10, 23, 59, 59, tzinfo=SHANGHAI)
        moments = reminder_moments(due, [LadderStep(key="r", offset=1)], cal)
        assert moments[0].provisional
        # Feb 9 2027 is a working day; 1 working day before Wed Feb 10 is Tue Feb 9.
        assert placed(moments, "r") == "2027-02-09T09:00:00+08:00"

    def test_minute_rungs_for_a_demo_deadline(self, cal: HolidayCalendar) -> None:
        """A demo deadline minutes away: urgent minute rungs keep their exact moment."""
        due = datetime(2026, 12, 15, 10, 30, tzinfo=SHANGHAI)
        steps = [
            LadderStep(key="m10", offset=10, unit=StepUnit.MINUTES, urgent=True),
            LadderStep(key="m5", offset=5, unit=StepUnit.MINUTES),
        ]
        moments = reminder_moments(due, steps, cal)
        assert [m.key for m in moments] == ["m10", "m5"]
        assert placed(moments, "m10") == "2026-12-15T10:20:00+08:00"
        assert placed(moments, "m5") == "2026-12-15T10:25:00+08:00"

    def test_naive_due_is_refused(self, cal: HolidayCalendar) -> None:
        with pytest.raises(ValueError, match="aware"):
            reminder_moments(datetime(2026, 12, 14, 23, 59), LADDER, cal)


class TestEscalations:
    def test_after_monday_deadline(self, cal: HolidayCalendar) -> None:
        """Overdue at Mon Dec 14 24:00: escalations from Tuesday morning on."""
        moments = escalation_moments(at(cal, date(2026, 12, 13)), LADDER, cal)
        assert placed(moments, "day0") == "2026-12-15T09:00:00+08:00"
        assert placed(moments, "d1") == "2026-12-15T09:00:00+08:00"
        assert placed(moments, "wd3") == "2026-12-17T09:00:00+08:00"
        assert placed(moments, "h2") == "2026-12-15T09:00:00+08:00"
        assert placed(moments, "urgent-h2") == "2026-12-15T01:59:59+08:00"

    def test_before_a_holiday_week(self, cal: HolidayCalendar) -> None:
        """Due Wed Sep 30 2026: +1 working day is Thu Oct 8, +1 day (Oct 1) snaps later to Oct 8."""
        due = at(cal, date(2026, 9, 30))
        steps = [LadderStep(key="wd1", offset=1), LadderStep(key="d1", offset=1, unit=StepUnit.DAYS)]
        moments = escalation_moments(due, steps, cal)
        assert placed(moments, "wd1") == "2026-10-08T09:00:00+08:00"
        assert placed(moments, "d1") == "2026-10-08T09:00:00+08:00"

    def test_close_of_business_deadline(self, cal: HolidayCalendar) -> None:
        """Due at 17:00: the at-due escalation goes out at 17:00, inside the window."""
        due = at(cal, date(2026, 12, 15), close=time(17, 0))
        moments = escalation_moments(due, [LadderStep(key="e0", offset=0)], cal)
        assert placed(moments, "e0") == "2026-12-15T17:00:00+08:00"


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        SendWindow(start=time(18, 0), end=time(9, 0))


class TestChineseRule:
    """Each rung explains its placement in Chinese too (Moment.rule_zh)."""

    def test_reminder_rungs_before_a_monday_deadline(self, cal: HolidayCalendar) -> None:
        moments = {m.key: m for m in reminder_moments(at(cal, date(2026, 12, 13)), LADDER, cal)}
        assert moments["wd3"].rule_zh == "截止日2026年12月14日（星期一）前3个工作日，即2026年12月9日（星期三）上午"
        assert moments["d1"].rule_zh == (
            "截止日2026年12月14日（星期一）前1日，即2026年12月13日（星期日）上午；"
            "2026年12月13日为休息日，提前至2026年12月11日（星期五）"
        )
        # The due moment is 23:59:59 and is written 24:00, as a Chinese notice writes it.
        assert moments["h2"].rule_zh == (
            "截止时间2026年12月14日（星期一）24:00前2小时，即2026年12月14日（星期一）21:59；"
            "不在发送时段（工作日09:00至18:00）内，提前至2026年12月14日（星期一）18:00"
        )
        assert moments["urgent-h2"].rule_zh.endswith("紧急事项，不受发送时段限制")
        assert all(m.rule for m in moments.values())

    def test_escalation_snapped_later(self, cal: HolidayCalendar) -> None:
        moments = {m.key: m for m in escalation_moments(at(cal, date(2026, 12, 13)), LADDER, cal)}
        assert moments["day0"].rule_zh == (
            "于截止时间2026年12月14日（星期一）24:00；不在发送时段（工作日09:00至18:00）内，推后至2026年12月15日（星期二）09:00"
        )

    def test_kept_before_the_due_moment(self, cal: HolidayCalendar) -> None:
        due = datetime(2026, 12, 15, 8, 0, tzinfo=SHANGHAI)
        (moment,) = reminder_moments(due, [LadderStep(key="day0", offset=0)], cal)
        assert moment.rule_zh.endswith("催办须在截止前发出，改为2026年12月14日（星期一）18:00")

    def test_provisional_2027(self, cal: HolidayCalendar) -> None:
        due = datetime(2027, 2, 10, 23, 59, 59, tzinfo=SHANGHAI)
        (moment,) = reminder_moments(due, [LadderStep(key="r", offset=1)], cal)
        assert moment.provisional
        assert moment.rule_zh.endswith("2027年放假安排尚未公布，暂按法定节假日推算，公布后将重新计算")
