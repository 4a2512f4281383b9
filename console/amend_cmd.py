"""`duban campaign amend PLAN.yaml [--yes]`: what an edited plan changes in the campaign's running cycles.

Without `--yes` it only shows, per running cycle, the units the plan adds, withdraws and changes
(contacts, leaders, names); with `--yes` it applies that difference. The plan is checked the way
`duban plan check` checks it: a bad plan exits 2 and nothing is asked of any cycle. When a cycle
would refuse its difference (a new unit's deadline already past, over the unit limit), nothing is
applied anywhere and the command exits 2 with the reason.
"""

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from temporalio.client import Client

from console import amendments
from console.amendments import CycleAmendment
from console.options import ByOpt, JsonFlag
from console.output import bad_input, console, emit_json, err_console
from console.plan_files import load_checked
from console.run import acting, run_call
from schemas.amendment import NewUnitsDue
from workers.settings import Settings

NewUnitsDueOpt = Annotated[
    NewUnitsDue,
    typer.Option(
        "--new-units-due",
        help="A new unit's deadline: the plan's rule counted from today (rule), or the cycle's own (cycle).",
    ),
]


def amend(
    file: Path,
    yes: Annotated[bool, typer.Option("--yes", help="Apply the difference (without: only show it).")] = False,
    new_units_due: NewUnitsDueOpt = NewUnitsDue.RULE,
    by: ByOpt = None,
    json: JsonFlag = False,
) -> None:
    """Show (and with --yes apply) what an edited plan changes in the campaign's running cycles.

    Examples:

        duban campaign amend examples/yaan-2017.yaml

        duban campaign amend examples/yaan-2017.yaml --yes --new-units-due cycle --json
    """
    plan = load_checked(file, dt.datetime.now(dt.UTC).date())
    who = acting(by)

    async def work(client: Client, settings: Settings) -> list[CycleAmendment]:
        items = await amendments.preview(client, plan, new_units_due, who)
        if yes and not _refused(items):
            await amendments.apply(client, settings, plan, items)
        return items

    items = run_call(work)
    if json:
        emit_json(
            {"campaign": plan.id, "office": plan.office.id, "applied": yes, "cycles": [_jsonable(i) for i in items]}
        )
    else:
        _show(plan.id, items, yes)
    problems = _refused(items) if yes else []
    problems += [f"{i.cycle_id}: {e}" for i in items for e in i.errors]
    if problems:
        bad_input("; ".join(problems) + (" (nothing was applied)" if _refused(items) else ""))


def _refused(items: list[CycleAmendment]) -> list[str]:
    return [f"{i.cycle_id}: {i.preview.refusal}" for i in items if i.preview and i.preview.refusal]


def _jsonable(item: CycleAmendment) -> dict[str, Any]:
    a = item.preview
    return {
        "cycle_id": item.cycle_id,
        "period": item.period,
        "note": item.note,
        "added": [{"id": u.id, "name": u.name} for u in a.added] if a else [],
        "restored": a.restored if a else [],
        "withdrawn": a.withdrawn if a else [],
        "changed": [{"id": c.unit_id, "fields": c.fields} for c in a.changed] if a else [],
        "kept": a.kept if a else [],
        "new_units_due": a.new_units_due.at.isoformat() if a and a.new_units_due else None,
        "digest": a.digest if a else "",
        "refusal": a.refusal if a else "",
        "applied": item.applied.model_dump(mode="json") if item.applied else None,
        "errors": item.errors,
    }


def _show(campaign: str, items: list[CycleAmendment], yes: bool) -> None:
    if not items:
        console.print(f"no running cycle of campaign {campaign}: nothing to amend")
        return
    for item in items:
        console.print(f"[bold]{item.cycle_id}[/bold]")
        if item.note:
            console.print(f"  {item.note}")
            continue
        rows = amendments.change_lines(item)
        if item.empty and not (item.preview and item.preview.refusal):
            console.print("  [green]计划与本期一致，无需变更[/green] (no difference)")
        if rows:
            table = Table("变更", "单位代码", "单位", "说明", show_lines=False)
            for row in rows:
                table.add_row(*row)
            console.print(table)
        if item.preview and item.preview.refusal:
            err_console.print(f"  [red]不能应用[/red]: {item.preview.refusal}", highlight=False)
        elif item.applied:
            console.print(f"  [green]已应用[/green]: {item.applied.message}")
        elif not item.empty and not yes:
            console.print("  (未应用：加 --yes 应用此变更)")
