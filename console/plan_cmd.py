"""`duban plan check FILE` (every problem with its field path) and `duban plan preview FILE` (the year's agenda)."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from console.output import console, emit_json, err_console
from console.plan_files import check_file
from console.preview_cmd import register_preview

app = typer.Typer(help="Campaign plans: check one, preview its year, before starting it.", no_args_is_help=True)
register_preview(app)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]


@app.command("check")
def check(file: Path, json: JsonFlag = False) -> None:
    """Validate a campaign plan; print every problem with its field path (exit 2 when there is any).

    Example: duban plan check examples/yaan-2017.yaml
    """
    plan, problems = check_file(file, dt.date.today())  # noqa: DTZ011 -- the operator's "this year"
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
