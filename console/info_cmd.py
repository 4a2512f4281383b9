"""`duban info`: timely information reports (及时报送) through the office's standing channel.

    duban info submit --campaign C --unit U --kind 典型案例 --title T [--file F ...] [--text T]
    duban info list --campaign C [--unit U] [--state pending|adopted|returned|filed]
    duban info adopt|return|file ITEM [--note N]
    duban info forward ITEM
    duban info stats --campaign C --period 2026-Q4 [--docx FILE]

ITEM is the id on the receipt, `<campaign>:<office>:<number>`. Refusals exit 2
with the reason; nothing is changed.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from temporalio.client import Client

from console import client_calls as calls
from console import info_calls
from console.display import local
from console.output import bad_input, console, emit_json
from console.run import acting, run_call
from domain.info_book import STATE_ZH
from schemas.info import Decision, InfoItem, InfoReceipt, InfoState, InfoStats, ItemResult
from schemas.info_plan import INFO_KIND_ZH, parse_kind
from workers.settings import Settings

app = typer.Typer(help="Timely information reports (及时报送): submit, review, forward, score.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
CampaignOpt = Annotated[str, typer.Option("--campaign", help="Campaign id, e.g. yaan-qingfeng")]
OfficeOpt = Annotated[str | None, typer.Option("--office", help="Office id (default: the campaign's only channel).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: your login name).")]
ItemArg = Annotated[str, typer.Argument(help="Item id from the receipt, e.g. yaan-qingfeng:yaan-dajiaban:12")]
NoteOpt = Annotated[str, typer.Option("--note", help="The review note (told to the unit).")]


@app.command("submit")
def submit(
    campaign: CampaignOpt,
    unit: Annotated[str, typer.Option("--unit", help="Unit id.")],
    kind: Annotated[str, typer.Option("--kind", help="工作动态 | 典型案例 | 经验做法 (or work_update, …).")],
    title: Annotated[str, typer.Option("--title", help="The item's title.")],
    file: Annotated[list[Path] | None, typer.Option("--file", help="An attachment; repeat for more.")] = None,
    text: Annotated[str, typer.Option("--text", help="The item's text.")] = "",
    work_area: Annotated[
        str, typer.Option("--work-area", help="A work area of the plan, e.g. '(五) 健全制度机制'.")
    ] = "",
    resubmit: Annotated[int | None, typer.Option("--resubmit", help="Number of a returned item to resubmit.")] = None,
    office: OfficeOpt = None,
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Send an information item on behalf of a unit; prints the receipt (回执).

    Example:

        duban info submit --campaign yaan-qingfeng --unit yaan-gaj --kind 典型案例 --title 查获假冒灯具案 \\
            --file 案例.docx
    """
    try:
        info_kind = parse_kind(kind)
    except ValueError as err:
        bad_input(str(err))
    if not title.strip():
        bad_input("--title must not be empty")
    loaded: list[tuple[str, bytes]] = []
    for path in file or []:
        try:
            loaded.append((path.name, path.read_bytes()))
        except OSError as err:
            bad_input(f"cannot read {path}: {err.strerror}")

    async def work(client: Client, settings: Settings) -> InfoReceipt:
        channel = await info_calls.find_channel(client, campaign, office)
        return await info_calls.submit(
            client,
            settings,
            channel,
            unit_id=unit,
            kind=info_kind,
            title=title,
            text=text,
            files=loaded,
            by=acting(by),
            work_area=work_area,
            resubmit_of=resubmit,
        )

    receipt = run_call(work)
    if json_out:
        emit_json(receipt)
        return
    console.print(f"[green]回执 {receipt.item_id}[/green] {receipt.message} — {local(receipt.accepted_at)}")


def _row(item: InfoItem, channel_id: str) -> dict[str, object]:
    from schemas.info import item_id

    return {
        "item_id": item_id(channel_id, item.no),
        "no": item.no,
        "unit": item.unit_id,
        "kind": item.kind.value,
        "title": item.title,
        "state": item.state.value,
        "version": item.version,
        "work_area": item.work_area,
        "submitted_at": item.submitted_at.isoformat(),
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decided_by": item.decided_by,
        "note": item.note,
        "forward_due": item.forward_due.at.isoformat() if item.forward_due else None,
        "forwarded_at": item.forwarded_at.isoformat() if item.forwarded_at else None,
        "forwarded_how": item.forwarded_how,
        "settled": item.settled_at is not None,
        "files": [
            {"name": r.name, "size": r.size, "sha256": r.sha256}
            for r in ([item.body] if item.body else []) + item.attachments
        ],
    }


@app.command("list")
def list_items(
    campaign: CampaignOpt,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit's items.")] = None,
    state: Annotated[
        InfoState | None, typer.Option("--state", help="Only items in this state.", case_sensitive=False)
    ] = None,
    office: OfficeOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """The channel's items, newest first (open ones and those already paged out).

    Examples:

        duban info list --campaign yaan-qingfeng --state pending

        duban info list --campaign yaan-qingfeng --unit yaan-gaj --json
    """

    async def work(client: Client, settings: Settings) -> tuple[str, list[InfoItem], dict[str, str]]:
        channel = await info_calls.find_channel(client, campaign, office)
        found = await info_calls.view(client, channel, unit)
        if unit and unit not in found.units:
            raise calls.Rejected(f"unknown unit {unit!r} in {channel}")
        return channel, await info_calls.every_item(settings, found, unit, state), found.units

    channel, items, names = run_call(work)
    if json_out:
        emit_json([_row(i, channel) for i in items])
        return
    table = Table(title=channel, show_edge=False)
    for col in ("编号", "单位", "类别", "标题", "状态", "报送时间", "上报"):
        table.add_column(col)
    for i in items:
        went = (
            f"{i.forwarded_how} {local(i.forwarded_at)}"
            if i.forwarded_at
            else (f"须于 {local(i.forward_due.at)} 前" if i.forward_due and i.settled_at is None else "")
        )
        table.add_row(
            str(i.no), names.get(i.unit_id, i.unit_id), INFO_KIND_ZH[i.kind], i.title,
            STATE_ZH[i.state.value], local(i.submitted_at), went,
        )  # fmt: skip
    console.print(table)


def _decide(item: str, decision: Decision, note: str, by: str | None, json_out: bool) -> None:
    async def work(client: Client, _: Settings) -> ItemResult:
        return await info_calls.decide(client, item, decision, note, acting(by))

    _emit(run_call(work), json_out)


def _emit(result: ItemResult, json_out: bool) -> None:
    if json_out:
        emit_json(result)
        return
    due = (
        f"，须于 {local(result.forward_due.at)} 前上报"
        if result.forward_due and result.state is InfoState.ADOPTED
        else ""
    )
    console.print(f"[green]完成[/green] {result.message}{due}")


@app.command("adopt")
def adopt(item: ItemArg, note: NoteOpt = "", by: ByOpt = None, json_out: JsonFlag = False) -> None:
    """Adopt an item (采用); it then goes up to the upper office within the plan's limit.

    Example: duban info adopt yaan-qingfeng:yaan-dajiaban:12 --note 拟报省打假办
    """
    _decide(item, Decision.ADOPT, note, by, json_out)


@app.command("return")
def return_item(item: ItemArg, note: NoteOpt = "", by: ByOpt = None, json_out: JsonFlag = False) -> None:
    """Return an item to its unit with a note (退回); the unit can resubmit it.

    Example: duban info return yaan-qingfeng:yaan-dajiaban:12 --note 请补充案值和处理结果
    """
    _decide(item, Decision.RETURN, note, by, json_out)


@app.command("file")
def file_item(item: ItemArg, note: NoteOpt = "", by: ByOpt = None, json_out: JsonFlag = False) -> None:
    """File an item (存档): received, not adopted.

    Example: duban info file yaan-qingfeng:yaan-dajiaban:12
    """
    _decide(item, Decision.FILE, note, by, json_out)


@app.command("forward")
def forward(item: ItemArg, by: ByOpt = None, json_out: JsonFlag = False) -> None:
    """Send an adopted item up to the upper office now, before its limit.

    Example: duban info forward yaan-qingfeng:yaan-dajiaban:12
    """

    async def work(client: Client, _: Settings) -> ItemResult:
        return await info_calls.forward(client, item, acting(by))

    _emit(run_call(work), json_out)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.0f}%"


@app.command("stats")
def stats(
    campaign: CampaignOpt,
    period: Annotated[str, typer.Option("--period", help="2026-M03, 2026-Q4, 2026-H1 or 2026-Y.")],
    docx: Annotated[Path | None, typer.Option("--docx", help="Also write the 通报 as a Word document here.")] = None,
    office: OfficeOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Per unit: items sent in the period, adopted, adoption rate, by kind (信息报送采用情况).

    Examples:

        duban info stats --campaign yaan-qingfeng --period 2026-Q4

        duban info stats --campaign yaan-qingfeng --period 2026-M11 --docx 通报.docx --json
    """
    try:
        info_calls.check_period(period)
    except calls.Rejected as err:
        bad_input(str(err))

    async def work(client: Client, _: Settings) -> InfoStats:
        return await info_calls.stats(client, await info_calls.find_channel(client, campaign, office), period)

    found = run_call(work)
    if docx is not None:
        from activities.documents import info_bulletin_docx

        try:
            docx.write_bytes(info_bulletin_docx(found))
        except OSError as err:
            bad_input(f"cannot write {docx}: {err.strerror}")
    if json_out:
        emit_json(found)
        return
    table = Table(title=f"{found.title} 采用情况 · {found.period_zh}", show_edge=False)
    for col in ("单位", "报送", "采用", "采用率", *(INFO_KIND_ZH[k] for k in found.total.by_kind), "退回", "存档"):
        table.add_column(col)
    for row in [*found.rows, found.total]:
        kinds = [f"{c.adopted}/{c.sent}" for c in row.by_kind.values()]
        table.add_row(
            row.unit_name, str(row.sent), str(row.adopted), _pct(row.rate), *kinds, str(row.returned), str(row.filed)
        )
    console.print(table)
    if docx is not None:
        console.print(f"通报已写入 {docx}")
