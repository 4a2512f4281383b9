"""`duban plan check FILE` (every problem with its field path), `duban plan preview FILE` (the year's agenda),
`duban plan import-units FILE` (a unit list from a spreadsheet)."""

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from console import unit_import
from console.output import bad_input, console, emit_json, err_console
from console.plan_files import check_file
from console.preview_cmd import register_preview
from domain import unit_rows

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


@app.command("import-units")
def import_units_cmd(
    file: Annotated[Path, typer.Argument(help="The unit list: .xlsx (first sheet) or .csv (UTF-8 or GB18030).")],
    into: Annotated[
        Path | None, typer.Option("--into", help="Write the units into this plan (its other lines stay as they are).")
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Put before ids made from names, e.g. yaan-.")] = "",
    json: JsonFlag = False,
) -> None:
    """Read a unit list (单位名称, 单位代码, 联系人, 邮箱, 电话, 分管领导, 类型) and print the plan's `units:` block.

    Every bad row is reported with its row number and column (exit 2, nothing written). A unit without
    an id gets one from its name's pinyin initials (市公安局 → sgaj). The template workbook is at
    /templates/units.xlsx in the console.

    Examples:

        duban plan import-units 成员单位名单.xlsx

        duban plan import-units 名单.csv --prefix yaan- --into examples/yaan-2017.yaml
    """
    try:
        result = unit_import.import_units(file, prefix)
    except unit_import.SheetError as err:
        bad_input(str(err))
    if result.problems:
        if json:
            emit_json({"ok": False, "problems": [p.model_dump() for p in result.problems]})
        else:
            for p in result.problems:
                err_console.print(f"{file}: {p}", highlight=False, soft_wrap=True)
        bad_input(f"{len(result.problems)} problem(s) in {file}; nothing written")
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
    block = unit_import.units_yaml(result)
    if into is not None:
        _write_units_into(into, block)
    if json:
        emit_json(
            {
                "ok": True,
                "units": unit_rows.units_block(result.units),
                "notes": result.notes,
                "written": str(into) if into else None,
            }
        )
    elif into is None:
        sys.stdout.write(block)
    else:
        console.print(f"[green]ok[/green] {len(result.units)} units written into {into}")


def _write_units_into(plan_path: Path, block: str) -> None:
    """Replace the plan's units, check the whole plan, and only then put it in place (exit 2 otherwise)."""
    try:
        text = plan_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        bad_input(f"cannot read {plan_path}: {err}")
    fd, tmp = tempfile.mkstemp(dir=plan_path.parent, prefix=f".{plan_path.name}.", suffix=".yaml")
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(unit_import.replace_units(text, block))
        plan, problems = check_file(tmp_path, dt.date.today())  # noqa: DTZ011 -- the operator's "this year"
        if plan is None:
            for p in problems:
                err_console.print(f"{plan_path}: {p.path}: {p.message}", highlight=False, soft_wrap=True)
            bad_input(f"the plan with these units has {len(problems)} problem(s); {plan_path} left as it was")
        os.replace(tmp_path, plan_path)
    finally:
        tmp_path.unlink(missing_ok=True)
