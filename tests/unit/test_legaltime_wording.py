"""How far off a deadline is, in words: the countdown on the board, the portal and in mail."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.legaltime.wording import relative_due


class TestRelativeDue:
    NOW = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("offset", "zh", "en"),
        [
            (timedelta(days=3, hours=2), "3天后截止", "due in 3 days"),
            (timedelta(hours=5), "5小时后截止", "due in 5 hours"),
            (timedelta(minutes=40), "40分钟后截止", "due in 40 minutes"),
            (timedelta(days=-2, hours=-3), "已逾期2天", "overdue by 2 days"),
            (timedelta(hours=-1), "已逾期1小时", "overdue by 1 hour"),
            (timedelta(days=-40), "已逾期1个月", "overdue by 1 month"),
        ],
    )
    def test_largest_whole_unit_in_both_languages(self, offset: timedelta, zh: str, en: str) -> None:
        """Ahead: 'N天后截止'; behind: '已逾期N天'; the largest whole unit, in the mail's language."""
        assert relative_due(self.NOW + offset, self.NOW) == zh
        assert relative_due(self.NOW + offset, self.NOW, "en") == en

    def test_the_zone_of_the_inputs_does_not_matter(self) -> None:
        """The same two instants in different zones give the same words."""
        shanghai = ZoneInfo("Asia/Shanghai")
        due = self.NOW + timedelta(days=3)
        assert relative_due(due.astimezone(shanghai), self.NOW) == relative_due(due, self.NOW.astimezone(shanghai))
