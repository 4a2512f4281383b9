"""Operator commands on reporting cycles: the board, one unit, and the office actions.

    duban status [CAMPAIGN] [--period P]
    duban unit show UNIT [--cycle ID]
    duban submit --cycle ID --unit UNIT --file F [--file F ...]
    duban extend | waive | return | forward | close | recompute ...
    duban extension decide|refuse ...
    (a unit's links: `duban link revoke|new`, console/link_cmd.py)

Every change goes through the cycle's Updates (the same ones the web console
uses): a refusal exits 2 with the reason, a receipt or result is printed.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text
from temporalio.client import Client
from temporalio.workflow import UpdateMethodMultiParam

from console import client_calls as calls
from console.display import local
from console.options import ByOpt, CycleOpt, JsonFlag, UnitOpt
from console.output import bad_input, console, emit_json
from console.run import acting, run_call
from domain.cycle_words import KIND_ZH, STAGE_ZH, what_zh
from domain.legaltime.wording import zh_period
from schemas.calendar import Due
from schemas.cycle import (
    ActionResult,
    CycleStatus,
    DecideExtension,
    Light,
    OfficeAction,
    Receipt,
    ReturnForRevision,
    SubmitReport,
    UnitView,
    Waive,
)
from schemas.plan import ReportKind
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

P = TypeVar("P", bound=BaseModel)  # an Update's one model in


LIGHT_STYLE = {
    Light.GREEN: ("●", "green", "已报送"),
    Light.YELLOW: ("●", "yellow", "即将到期"),
    Light.RED: ("●", "red", "逾期"),
    Light.GREY: ("●", "grey50", "免报"),
    Light.BLUE: ("●", "blue", "未到期"),
    Light.WITHDRAWN: ("○", "grey50", "已撤回"),
}


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        bad_input(f"{option} {text!r} is not a date (expected YYYY-MM-DD)")


def due_text(due: Due) -> str:
    return local(due.at, due.tz) + (" (暂定)" if due.provisional else "")


def light_text(light: Light) -> Text:
    dot, style, label = LIGHT_STYLE[light]
    return Text(f"{dot} {label}", style=style)


# ---- the board -------------------------------------------------------------------------------


def print_board(status: CycleStatus) -> None:
    c = status.counts
    head = Text.assemble(
        (f"{status.cycle_id}", "bold"),
        f"  {zh_period(status.period)}  阶段 {STAGE_ZH.get(status.stage.value, status.stage.value)}"
        f"  单位截止 {due_text(status.unit_due)}  ",
        (f"已报 {c.get('submitted', 0)}", "green"),
        " · ",
        (f"未报 {c.get('pending', 0)}", "yellow"),
        " · ",
        (f"逾期 {c.get('overdue', 0)}", "red"),
        " · ",
        (f"免报 {c.get('waived', 0)}", "grey50"),
        (f" · 已撤回 {c['withdrawn']}" if c.get("withdrawn") else "", "grey50"),
        f" / 共 {c.get('total', 0)}",
    )
    console.print(head)
    table = Table(show_edge=False, pad_edge=False)
    for col in ("状态", "单位", "截止", "报送时间", "逾期天数", "催办", "督办"):
        table.add_column(col)
    for row in status.units:
        table.add_row(
            light_text(row.light),
            f"{row.unit_name} ({row.unit_id})",
            due_text(row.due),
            local(row.submitted_at, row.due.tz),
            str(row.days_late or ""),
            str(row.reminders_sent or ""),
            str(row.escalation_level or ""),
        )
    console.print(table)
    for problem in status.problems:
        console.print(f"问题 {problem}", style="bold red")
    if status.next_event_at:
        console.print(f"下一事件 {local(status.next_event_at)}: {status.next_event}", style="dim")
    console.print()


def status(
    campaign: Annotated[str | None, typer.Argument(help="Campaign id; all campaigns when left out.")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this period, e.g. 2026-H1.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Traffic-light board of cycles and units: green submitted, yellow due soon, red overdue, grey waived.

    Examples:

        duban status yaan-2017

        duban status yaan-2017 --period 2026-Y --json
    """

    async def work(client: Client, settings: Settings) -> list[CycleStatus]:
        archive = calls.open_archive(settings)  # closed cycles Temporal no longer has
        return await calls.statuses(client, await calls.list_cycles(client, campaign, period, archive), archive)

    boards = run_call(work)
    if json_out:
        emit_json(calls.jsonable({"cycles": boards}))
        return
    if not boards:
        console.print("没有找到报送周期 (no cycles found)")
        return
    for board in boards:
        print_board(board)


# ---- one unit --------------------------------------------------------------------------------

unit_app = typer.Typer(help="One unit's deadlines, reminders, escalations and submissions.", no_args_is_help=True)


def print_unit(view: UnitView) -> None:
    row = view.row
    console.print(
        Text.assemble((f"{view.unit.name} ({view.unit.id})", "bold"), f"  {view.cycle_id}  ", light_text(row.light))
    )
    console.print(f"截止 {due_text(row.due)} — {row.due.rule_zh or row.due.rule}")
    if view.state.extension:
        ext = view.state.extension
        console.print(f"延期申请 → {ext.wanted}: {ext.reason}", style="yellow")
    for sub in view.state.submissions:
        flag = " 已替换" if sub.replaced else ""
        late = " 逾期" if sub.late else ""
        kind = KIND_ZH.get(sub.kind.value, sub.kind.value)
        console.print(f"  报送 {sub.receipt_no} {kind} 《{sub.title}》 {local(sub.submitted_at)}{late}{flag}")
    table = Table(title="时间线", show_edge=False)
    for col in ("时间", "事件", "操作人", "说明"):
        table.add_column(col)
    for entry in view.state.timeline:
        table.add_row(local(entry.at, row.due.tz), what_zh(entry.what), entry.by, entry.detail)
    console.print(table)
    for at, step in view.upcoming:
        console.print(f"  待办 {local(at, row.due.tz)} {what_zh(step)}", style="dim")
    console.print()


@unit_app.command("show")
def unit_show(
    unit: Annotated[str, typer.Argument(help="Unit id.")],
    cycle: Annotated[
        str | None, typer.Option("--cycle", help="Only this cycle (default: every cycle of the unit).")
    ] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only cycles of this campaign.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """One unit's deadline (and how it was counted), reminders, escalations and submissions.

    Examples:

        duban unit show yaan-gaj

        duban unit show yaan-gaj --cycle cycle:demo:demo-office:summary:2026-Y --json
    """

    async def work(client: Client, settings: Settings) -> list[UnitView]:
        archive = calls.open_archive(settings)
        if cycle:
            return [await calls.unit_view(client, cycle, unit, archive)]
        found = await calls.cycles_of_unit(client, unit, campaign, archive)
        return [await calls.unit_view(client, s.cycle_id, unit, archive) for s in found]

    views = run_call(work)
    if not views:
        bad_input(f"unit {unit!r} takes part in no cycle")
    if json_out:
        emit_json(calls.jsonable({"unit_id": unit, "cycles": views}))
        return
    for view in views:
        print_unit(view)


# ---- calls -----------------------------------------------------------------------------------


def _emit_result(result: Receipt | ActionResult, json_out: bool) -> None:
    if json_out:
        emit_json(result)
    elif isinstance(result, Receipt):
        late = " (逾期报送)" if result.late else ""
        console.print(f"[green]回执 {result.receipt_no}[/green] {result.message}{late} — {local(result.accepted_at)}")
    else:
        console.print(f"[green]完成[/green] {result.message}")


def submit(
    cycle: CycleOpt,
    unit: UnitOpt,
    file: Annotated[list[Path] | None, typer.Option("--file", help="An attachment; repeat for more.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title (default: the first file's name).")] = None,
    kind: Annotated[ReportKind, typer.Option("--kind", help="What is submitted.")] = ReportKind.SUMMARY,
    text: Annotated[str | None, typer.Option("--text", help="Text of the report (stored as its body).")] = None,
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Submit a report on behalf of a unit; prints the receipt (回执).

    Examples:

        duban submit --cycle cycle:demo:demo-office:summary:2026-Y --unit yaan-gaj --file 总结.docx

        duban submit --cycle ID --unit yaan-gaj --kind typical_case --title 典型案例 --text "..." --json
    """
    files = file or []
    if not files and not (text and text.strip()):
        bad_input("give at least one --file or a --text")
    loaded: list[tuple[str, bytes]] = []
    for path in files:
        try:
            loaded.append((path.name, path.read_bytes()))
        except OSError as err:
            bad_input(f"cannot read {path}: {err.strerror}")
    report_title = title or (Path(files[0].name).stem if files else "报送材料")

    async def work(client: Client, settings: Settings) -> Receipt:
        call = SubmitReport(unit_id=unit, title=report_title, kind=kind, by=acting(by))
        return await calls.submit_files(client, settings, cycle, call, text or "", loaded)

    _emit_result(run_call(work), json_out)


def _office_call(
    cycle: str, update: UpdateMethodMultiParam[[ReportingCycle, P], ActionResult], make: Callable[[], P], json_out: bool
) -> None:
    async def work(client: Client, _: Settings) -> ActionResult:
        return await calls.update(client, cycle, update, make())

    _emit_result(run_call(work), json_out)


def extend(
    cycle: CycleOpt,
    unit: UnitOpt,
    to: Annotated[str, typer.Option("--to", help="The new due date, YYYY-MM-DD (end of that day).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the unit).")] = "",
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Extend a unit's deadline (approves its extension request, if it made one).

    Example:

        duban extend --cycle ID --unit yaan-gaj --to 2026-12-20 --reason 材料待盖章
    """
    day = _date(to, "--to")
    _office_call(
        cycle,
        ReportingCycle.decide_extension,
        lambda: DecideExtension(unit_id=unit, approve=True, new_due=day, reason=reason, by=acting(by)),
        json_out,
    )


def waive(
    cycle: CycleOpt,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the unit is exempted (免报).")],
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Exempt a unit from this cycle's report (免报); it shows grey.

    Example:

        duban waive --cycle ID --unit yaan-gaj --reason 本期无相关工作
    """
    _office_call(cycle, ReportingCycle.waive, lambda: Waive(unit_id=unit, reason=reason, by=acting(by)), json_out)


def return_for_revision(
    cycle: CycleOpt,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="What to revise (shown to the unit).")],
    due: Annotated[str, typer.Option("--due", help="New due date, YYYY-MM-DD.")],
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Return a unit's report for revision (退回修改) with a new due date.

    Example:

        duban return --cycle ID --unit yaan-gaj --reason 缺少数据表 --due 2026-12-18
    """
    day = _date(due, "--due")
    _office_call(
        cycle,
        ReportingCycle.return_for_revision,
        lambda: ReturnForRevision(unit_id=unit, reason=reason, new_due=day, by=acting(by)),
        json_out,
    )


extension_app = typer.Typer(help="Decide a unit's extension request (延期申请).", no_args_is_help=True)


@extension_app.command("decide")
def extension_decide(
    cycle: CycleOpt,
    unit: UnitOpt,
    to: Annotated[str | None, typer.Option("--to", help="New due date (default: the date asked for).")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Approve a unit's extension request.

    Example:

        duban extension decide --cycle ID --unit yaan-gaj
    """
    day = _date(to, "--to") if to else None
    _office_call(
        cycle,
        ReportingCycle.decide_extension,
        lambda: DecideExtension(unit_id=unit, approve=True, new_due=day, reason=reason, by=acting(by)),
        json_out,
    )


@extension_app.command("refuse")
def extension_refuse(
    cycle: CycleOpt,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the unit).")],
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Refuse a unit's extension request.

    Example:

        duban extension refuse --cycle ID --unit yaan-gaj --reason 时限不可延后
    """
    _office_call(
        cycle,
        ReportingCycle.decide_extension,
        lambda: DecideExtension(unit_id=unit, approve=False, reason=reason, by=acting(by)),
        json_out,
    )


def forward(
    cycle: CycleOpt,
    reason: Annotated[str, typer.Option("--reason")] = "",
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Compile the roll-up now and forward it to the upper office.

    Example:

        duban forward --cycle ID --reason 提前上报
    """
    _office_call(cycle, ReportingCycle.forward_upward, lambda: OfficeAction(reason=reason, by=acting(by)), json_out)


def close(
    cycle: CycleOpt,
    reason: Annotated[str, typer.Option("--reason")] = "",
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Close a cycle: no more submissions, reminders or escalations.

    Example:

        duban close --cycle ID --reason 本期工作结束
    """
    _office_call(cycle, ReportingCycle.close, lambda: OfficeAction(reason=reason, by=acting(by)), json_out)


def recompute(
    cycle: CycleOpt,
    calendars: Annotated[
        Path | None, typer.Option("--calendars", help="Folder of <year>.toml holiday overrides.")
    ] = None,
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Reload holiday data and recompute the deadlines that follow the plan's rule.

    Run it when the State Council publishes next year's 放假调休安排.

    Example:

        duban recompute --cycle ID --calendars calendars/
    """

    async def work(client: Client, settings: Settings) -> ActionResult:
        return await calls.recompute(client, cycle, acting(by), calendars or settings.calendars_dir)

    _emit_result(run_call(work), json_out)


def register(app: typer.Typer) -> None:
    """Add the cycle commands to the top-level `duban` app."""
    app.command("status")(status)
    app.add_typer(unit_app, name="unit")
    app.command("submit")(submit)
    app.command("extend")(extend)
    app.command("waive")(waive)
    app.command("return")(return_for_revision)
    app.add_typer(extension_app, name="extension")
    app.command("forward")(forward)
    app.command("close")(close)
    app.command("recompute")(recompute)
