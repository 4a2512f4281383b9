"""`duban plan check FILE` (every problem with its field path) and `duban plan preview FILE` (the year's agenda)."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from console.output import bad_input, console, emit_json, err_console
from console.preview_cmd import register_preview
from schemas.plan import CampaignPlan
from schemas.plan_check import PlanError, Problem, check_plan, read_plan_file
from workflows.cycle_spec import calendar_years
from workflows.legaltime.data import load_calendar

app = typer.Typer(help="Campaign plans: check one, preview its year, before starting it.", no_args_is_help=True)
register_preview(app)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]


def _check(path: Path, today: dt.date) -> tuple[CampaignPlan | None, list[Problem]]:
    try:
        data = read_plan_file(path)
    except PlanError as err:
        bad_input(str(err))
    tz = data.get("timezone", "Asia/Shanghai") if isinstance(data, dict) else "Asia/Shanghai"
    try:
        calendar = load_calendar(calendar_years(today.year), str(tz))
    except (ValueError, KeyError) as exc:
        bad_input(f"timezone: unknown time zone {tz!r} ({exc})")
    return check_plan(data, calendar, today.year)


def load_checked(path: Path, today: dt.date) -> CampaignPlan:
    """The plan in FILE, or exit 2 listing every problem (path: message), one per line."""
    plan, problems = _check(path, today)
    if plan is None:
        for p in problems:
            err_console.print(f"{path}: {p.path}: {p.message}", highlight=False, soft_wrap=True)
        bad_input(f"{len(problems)} problem(s) in {path}")
    return plan


@app.command("check")
def check(file: Path, json: JsonFlag = False) -> None:
    """Validate a campaign plan; print every problem with its field path (exit 2 when there is any).

    Example: duban plan check examples/yaan-2017.yaml
    """
    plan, problems = _check(file, dt.date.today())  # noqa: DTZ011 -- the operator's "this year"
    if json:
        emit_json({"ok": plan is not None, "problems": [p.model_dump() for p in problems]})
    if plan is None:
        if not json:
            for p in problems:
                err_console.print(f"{file}: {p.path}: {p.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if not json:
        console.print(
            f"[green]ok[/green] {plan.id}: {len(plan.units)} units, {len(plan.obligations)} obligations, "
            f"{len(plan.referral_policies)} referral policies"
        )
