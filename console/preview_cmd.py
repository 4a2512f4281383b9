"""`duban plan preview FILE [--year Y] [--unit U] [--json] [--xlsx OUT]` — the year's agenda before anything starts.

Every notice, reminder (催办), due moment, escalation rung (督办), office
reminder and forward of every cycle the plan opens in the year, with its date,
weekday and how it was counted; provisional dates (holiday data not out yet)
are marked. Computed by `domain.preview`, i.e. by the code the running
cycles use. `console/plan_cmd.py` adds the command with `register_preview`.
"""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from rich.table import Table

from activities.holidays import load_calendar
from console.output import bad_input, console, emit_json
from console.plan_files import load_checked
from domain.cycle_spec import calendar_years
from domain.preview import year_preview
from schemas.preview import Preview
from workers.settings import load_settings

KIND_ZH = {
    "notice": "通知",
    "remind": "催办",
    "due": "截止",
    "escalate": "督办",
    "office_remind": "办公室提醒",
    "forward": "汇总上报",
    "close": "周期结束",
}
COLUMNS = [
    ("事项", 22),
    ("周期", 12),
    ("单位", 22),
    ("类别", 10),
    ("步骤", 22),
    ("时间", 17),
    ("星期", 7),
    ("Weekday", 10),
    ("暂定", 6),
    ("计算依据", 70),
    ("Rule", 70),
]


def build_preview(file: Path, year: int, unit: str | None, now: dt.datetime) -> Preview:
    """The preview of the plan in FILE, or exit 2 with the plan's problems or the bad option."""
    plan = load_checked(file, now.date())
    calendar = load_calendar(calendar_years(year), plan.timezone, load_settings().calendars_dir)
    try:
        return year_preview(plan, year, calendar, now, unit)
    except ValueError as err:
        bad_input(str(err))


def write_xlsx(preview: Preview, out: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = f"{preview.year}年度日程"
    ws.append([name for name, _ in COLUMNS])
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="A61B1B")
    for r in preview.rows:
        ws.append(
            [
                r.obligation_title,
                r.period,
                r.unit_name or "（办公室）",
                KIND_ZH.get(r.kind, r.kind),
                r.step,
                r.local,
                r.weekday_zh,
                r.weekday,
                "暂定" if r.provisional else "",
                r.rule_zh,
                r.rule,
            ]
        )
    for row in ws.iter_rows(min_row=2):
        for cell in row[-2:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    try:
        wb.save(out)
    except OSError as err:
        bad_input(f"cannot write {out}: {err}")


def print_table(preview: Preview) -> None:
    cycles: dict[str, list[int]] = {}
    for i, r in enumerate(preview.rows):
        cycles.setdefault(r.cycle_id, []).append(i)
    for cycle_id, indexes in cycles.items():
        first = preview.rows[indexes[0]]
        table = Table(title=f"{first.obligation_title} · {first.period}", caption=cycle_id, show_lines=False)
        for name in ("时间", "星期", "单位", "事项", "计算依据"):
            table.add_column(name, overflow="fold")
        for i in indexes:
            r = preview.rows[i]
            mark = " [yellow]暂定[/yellow]" if r.provisional else ""
            table.add_row(
                r.local + mark,
                r.weekday_zh,
                r.unit_name or "（办公室）",
                f"{KIND_ZH.get(r.kind, r.kind)} {r.step}",
                r.rule_zh or r.rule,
            )
        console.print(table)
    if not preview.rows:
        console.print(f"no cycle of {preview.plan_id} opens in {preview.year}")
    if preview.provisional_years:
        years = "、".join(str(y) for y in preview.provisional_years)
        console.print(f"[yellow]暂定[/yellow]: {years}年放假调休安排尚未公布，相关日期公布后将重新计算。")


def register_preview(plan_app: typer.Typer) -> None:
    """Add `preview` to the `duban plan` sub-app."""

    @plan_app.command("preview")
    def preview(
        file: Path,
        year: Annotated[
            int | None, typer.Option("--year", min=2004, max=2100, help="The year to preview (default: this year).")
        ] = None,
        unit: Annotated[str | None, typer.Option("--unit", help="Only this unit's items.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")] = False,
        xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the agenda as an Excel sheet.")] = None,
    ) -> None:
        """The year's agenda of a plan: every notice, reminder, due moment and escalation, with its count.

        Example: duban plan preview examples/yaan-2017.yaml --year 2026 --unit yaan-gaj
        """
        now = dt.datetime.now(dt.UTC)
        result = build_preview(file, year or now.astimezone().year, unit, now)
        if xlsx is not None:
            write_xlsx(result, xlsx)
        if as_json:
            emit_json(result)
        else:
            print_table(result)
            if xlsx is not None:
                console.print(f"written: {xlsx}")
