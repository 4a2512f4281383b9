"""A campaign plan file for the CLI: read, checked against the rules (domain.plan_check), or exit 2."""

import datetime as dt
from pathlib import Path
from typing import Any

from activities.holidays import load_calendar
from console.output import bad_input, err_console
from domain.cycle_spec import calendar_years
from domain.plan_check import PlanError, Problem, check_plan, parse_plan_text
from schemas.plan import CampaignPlan
from workers.settings import load_settings


def read_plan_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PlanError([Problem(path="(file)", message=f"no such file: {path}")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([Problem(path="(file)", message=f"cannot read {path}: {exc}")]) from exc
    return parse_plan_text(text)


def check_file(path: Path, today: dt.date) -> tuple[CampaignPlan | None, list[Problem]]:
    try:
        data = read_plan_file(path)
    except PlanError as err:
        bad_input(str(err))
    try:
        return check_data(data, today, load_settings().calendars_dir)
    except PlanError as err:
        bad_input(str(err))


def check_data(data: Any, today: dt.date, calendars: Path | None) -> tuple[CampaignPlan | None, list[Problem]]:
    """A loaded plan checked the way `duban plan check` checks it (also for a plan uploaded to the console);
    PlanError when not even its time zone can be used."""
    tz = data.get("timezone", "Asia/Shanghai") if isinstance(data, dict) else "Asia/Shanghai"
    try:
        calendar = load_calendar(calendar_years(today.year), str(tz), calendars)
    except (ValueError, KeyError) as exc:
        raise PlanError([Problem(path="timezone", message=f"unknown time zone {tz!r} ({exc})")]) from exc
    return check_plan(data, calendar, today.year)


def load_checked(path: Path, today: dt.date) -> CampaignPlan:
    """The plan in FILE, or exit 2 listing every problem (path: message), one per line."""
    plan, problems = check_file(path, today)
    if plan is None:
        for p in problems:
            err_console.print(f"{path}: {p.path}: {p.message}", highlight=False, soft_wrap=True)
        bad_input(f"{len(problems)} problem(s) in {path}")
    return plan
