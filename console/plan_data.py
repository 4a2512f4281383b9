"""A loaded campaign plan checked as `duban plan check` checks it (the CLI, and a plan uploaded to the console)."""

import datetime as dt
from pathlib import Path
from typing import Any

from activities.holidays import load_calendar
from domain.cycle_spec import calendar_years
from domain.plan_check import PlanError, Problem, check_plan
from schemas.plan import CampaignPlan


def check_data(data: Any, today: dt.date, calendars: Path | None) -> tuple[CampaignPlan | None, list[Problem]]:
    """Every problem of the plan (and the plan when there is none); PlanError when not even its time zone
    can be used."""
    tz = data.get("timezone", "Asia/Shanghai") if isinstance(data, dict) else "Asia/Shanghai"
    try:
        calendar = load_calendar(calendar_years(today.year), str(tz), calendars)
    except (ValueError, KeyError) as exc:
        raise PlanError([Problem(path="timezone", message=f"unknown time zone {tz!r} ({exc})")]) from exc
    return check_plan(data, calendar, today.year)
