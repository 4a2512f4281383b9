"""A campaign plan file for the CLI: read, checked against the rules (domain.plan_check), or exit 2."""

import datetime as dt
from pathlib import Path
from typing import Any

from console.output import bad_input, err_console
from console.plan_data import check_data
from domain.plan_check import PlanError, Problem, parse_plan_text
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


def load_checked(path: Path, today: dt.date) -> CampaignPlan:
    """The plan in FILE, or exit 2 listing every problem (path: message), one per line."""
    plan, problems = check_file(path, today)
    if plan is None:
        for p in problems:
            err_console.print(f"{path}: {p.path}: {p.message}", highlight=False, soft_wrap=True)
        bad_input(f"{len(problems)} problem(s) in {path}")
    return plan
