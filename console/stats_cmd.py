"""`duban stats`: on-time rates, days late, returns and submissions per unit and per office, across years.

    duban stats [--campaign C] [--year Y] [--office O] [--xlsx FILE] [--json]

Closed cycles come from the archive, running ones from Temporal (console/stats.py);
how things are counted is in domain/punctuality.py.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from temporalio.client import Client

from console import client_calls as calls
from console import stats
from console.options import JsonFlag
from console.output import bad_input, console, emit_json
from console.run import run_call
from console.stats_workbook import filter_text, rate_text, workbook_bytes
from schemas.stats import StatsReport
from workers.settings import Settings


def stats_command(
    campaign: Annotated[str, typer.Option("--campaign", help="Only this campaign (default: all).")] = "",
    year: Annotated[str, typer.Option("--year", help="Only cycles of this year's periods, e.g. 2026.")] = "",
    office: Annotated[str, typer.Option("--office", help="Only this office's cycles (office id).")] = "",
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the statistics as Excel.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """On-time rate (按时报送率), days late, returns (退回) and submissions per unit and office, by year and campaign.

    The rate is on time / (on time + late + missed); not yet due, waived and withdrawn are not counted.
    Days late are calendar days after the due day. A cycle counts for its period's year.

    Examples:

        duban stats --campaign yaan-2017

        duban stats --year 2026 --office yaan-office --xlsx 2026年度按时报送.xlsx --json
    """
    try:
        wanted = stats.check_filter(campaign, year, office)
    except calls.Rejected as err:
        bad_input(str(err))
    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        bad_input(f"{xlsx}: the output file must end in .xlsx")

    async def work(client: Client, settings: Settings) -> StatsReport:
        report, _ = await stats.collect(client, wanted, calls.open_archive(settings))
        return report

    report = run_call(work)
    if xlsx is not None:
        try:
            xlsx.write_bytes(workbook_bytes(report))
        except OSError as err:
            bad_input(f"cannot write {xlsx}: {err.strerror}")
    if json_out:
        emit_json(report.model_dump(mode="json", exclude={"rows"}) | {"file": str(xlsx) if xlsx else None})
        return
    print_report(report)
    if xlsx is not None:
        console.print(f"统计表已写入 {xlsx}")


def print_report(report: StatsReport) -> None:
    console.print(f"按时报送情况（{filter_text(report.filter)}，{report.cycles} 个报送周期）", style="bold")
    if not report.cycles:
        console.print("没有符合条件的报送周期 (no cycles found)")
        return
    table = Table("单位", "办公室", *(str(y) for y in report.years), "合计", "逾期天数", "退回", "报送份数")
    for s in report.units:
        by_year = [rate_text(s.by_year[y].rate) if y in s.by_year else "" for y in report.years]
        t = s.total
        table.add_row(
            s.name, s.office_id, *by_year, rate_text(t.rate), str(t.days_late), str(t.returns), str(t.submissions)
        )
    console.print(table)
    offices = Table("办公室", *(str(y) for y in report.years), "合计", "本办上报按时率")
    for o in report.offices:
        by_year = [rate_text(o.by_year[y].rate) if y in o.by_year else "" for y in report.years]
        offices.add_row(o.id, *by_year, rate_text(o.total.rate), rate_text(o.upward.rate))
    console.print(offices)
