"""A periodic obligation's opening day: plan check, preview and the Schedule agree on it."""

from pathlib import Path

import pytest
import yaml

from activities.holidays import load_calendar
from domain import cycle_spec
from domain.plan_check import check_plan

DEMO = Path(__file__).parents[2] / "examples" / "yaan-2017.yaml"
# The added obligation comes after the plan's own (the Ya'an plan's count changed with issue 22).
ADDED = len(yaml.safe_load(DEMO.read_text(encoding="utf-8"))["obligations"])


def _with_monthly(opens: str, period: str = "monthly") -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    ob = dict(data["obligations"][0], id="monthly-x", period=period, opens=opens, halves=[1, 2])
    data["obligations"].append(ob)
    return data  # type: ignore[no-any-return]


class TestOpeningDay:
    @pytest.mark.parametrize("opens", ["01-29", "01-30", "01-31"])
    def test_a_monthly_obligation_opening_on_day_29_to_31_is_refused(self, opens: str) -> None:
        """February has no 29th every year, April no 31st: a Schedule would skip those months; refused."""
        plan, problems = check_plan(_with_monthly(opens), load_calendar([2026, 2027]), 2026)
        assert plan is None
        assert [p.path for p in problems] == [f"obligations[{ADDED}].opens"]
        assert "1-28 for a monthly obligation" in problems[0].message

    def test_day_28_opens_every_month_and_the_preview_lists_twelve(self) -> None:
        """What the check accepts, the preview computes for every month (before: exit 2, day out of range)."""
        plan, problems = check_plan(_with_monthly("01-28"), load_calendar([2026, 2027]), 2026)
        assert plan is not None and problems == []
        opened = cycle_spec.openings(plan.obligations[ADDED], 2026, plan.timezone)
        assert [label for label, _ in opened] == [f"2026-M{m:02d}" for m in range(1, 13)]

    def test_a_half_year_obligation_opening_on_the_31st_in_a_30_day_month_is_refused(self) -> None:
        """Half-year from 03-31: the second half would open on Sep 31."""
        _, problems = check_plan(_with_monthly("03-31", "half_year"), load_calendar([2026, 2027]), 2026)
        assert any(p.path == f"obligations[{ADDED}].opens" and "month(s) 9 " in p.message for p in problems)
