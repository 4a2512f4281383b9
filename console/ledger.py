"""The ledger (台账) as Excel: one sheet per cycle, one per lead, formatted for printing.

`duban export xlsx` (console.export_cmd) writes it; the console's download button serves the same workbook.
"""

import contextlib
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from rich.progress import Progress
from temporalio.client import Client

from activities.archive import Archive
from console import client_calls as calls
from console.display import local
from domain.cycle_words import LIGHT_ZH, STAGE_ZH
from domain.legaltime.wording import zh_period
from schemas.cycle import CycleStatus, Light

RED_FILL = PatternFill("solid", fgColor="F8D0D0")
YELLOW_FILL = PatternFill("solid", fgColor="FFF1C2")
GREY_FILL = PatternFill("solid", fgColor="E6E6E6")
HEADER_FILL = PatternFill("solid", fgColor="A61B1B")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CYCLE_COLUMNS = [
    ("单位", 26),
    ("单位代码", 16),
    ("状态", 10),
    ("截止时间", 18),
    ("报送时间", 18),
    ("逾期天数", 9),
    ("催办次数", 9),
    ("督办级别", 9),
    ("报送份数", 9),
    ("截止时间计算依据", 40),
]
LEAD_COLUMNS = [
    ("承办单位", 18),
    ("阶段", 16),
    ("开始", 18),
    ("时限", 18),
    ("完成", 18),
    ("是否按时", 9),
    ("督办级别", 9),
    ("计算依据", 40),
]


@dataclass
class Ledger:
    campaign: str
    cycles: list[CycleStatus] = field(default_factory=list)
    leads: list[object] = field(default_factory=list)  # schemas.lead.LeadStatus, when leads exist


def _local(at: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    return local(at, tz) if at is not None else ""


def _sheet_title(wb: Workbook, text: str) -> str:
    # Excel: ≤ 31 characters, none of []:*?/\ , unique in the workbook.
    base = re.sub(r"[\[\]:*?/\\]", "-", text)[:31] or "sheet"
    title, n = base, 2
    while title in wb.sheetnames:
        suffix = f"~{n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    return title


def _prepare(ws: Worksheet, heading: str, columns: list[tuple[str, int]]) -> None:
    ws.append([heading])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([c for c, _ in columns])
    for i, (_, width) in enumerate(columns, start=1):
        cell = ws.cell(row=2, column=i)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"


def _finish_rows(ws: Worksheet, fills: list[PatternFill | None]) -> None:
    for row_index, fill in enumerate(fills, start=3):
        for cell in ws[row_index]:
            cell.border = BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if fill is not None:
                cell.fill = fill


def cycle_sheet(wb: Workbook, status: CycleStatus) -> Worksheet:
    ws = wb.create_sheet(_sheet_title(wb, f"{status.obligation} {zh_period(status.period)}"))
    c = status.counts
    heading = (
        f"{status.obligation} {zh_period(status.period)} 报送台账（{status.office_id}）"
        f" 已报 {c.get('submitted', 0)} / 逾期 {c.get('overdue', 0)} / 免报 {c.get('waived', 0)}"
        f"{f' / 已撤回 {withdrawn}' if (withdrawn := c.get('withdrawn', 0)) else ''} / 共 {c.get('total', 0)}"
    )
    _prepare(ws, heading, CYCLE_COLUMNS)
    fills: list[PatternFill | None] = []
    for r in status.units:
        status_text = LIGHT_ZH[r.light.value] if r.phase.value != "returned" else "退回修改"
        ws.append(
            [
                r.unit_name,
                r.unit_id,
                status_text,
                _local(r.due.at, r.due.tz),
                _local(r.submitted_at, r.due.tz),
                r.days_late or None,
                r.reminders_sent,
                r.escalation_level,
                r.reports,
                r.due.rule_zh or r.due.rule,
            ]
        )
        fills.append(
            {Light.RED: RED_FILL, Light.YELLOW: YELLOW_FILL, Light.GREY: GREY_FILL, Light.WITHDRAWN: GREY_FILL}.get(
                r.light
            )
        )
    _finish_rows(ws, fills)
    ws.auto_filter.ref = f"A2:{get_column_letter(len(CYCLE_COLUMNS))}{max(2, ws.max_row)}"
    return ws


def lead_sheet(wb: Workbook, lead: object) -> Worksheet:
    from schemas.lead import LeadStatus

    assert isinstance(lead, LeadStatus)
    ws = wb.create_sheet(_sheet_title(wb, f"线索 {lead.lead_id.split(':')[-1]}"))
    _prepare(ws, f"线索：{lead.title}（{lead.policy}，移送单位 {lead.referrer}）", LEAD_COLUMNS)
    fills: list[PatternFill | None] = []
    for s in lead.stages:
        met = "按时" if s.met is True else "超时" if s.met is False else ""
        ws.append(
            [
                s.unit,
                str(s.name),
                _local(s.started_at),
                _local(s.due),
                _local(s.done_at),
                met,
                s.escalation_level or None,
                s.due_rule,
            ]
        )
        late = s.met is False or (s.done_at is None and s.due < lead.now)
        fills.append(RED_FILL if late else YELLOW_FILL if s.done_at is None and s.escalation_level else None)
    _finish_rows(ws, fills)
    return ws


def build_workbook(ledger: Ledger) -> Workbook:
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    columns = [
        ("报送事项", 26),
        ("期次", 12),
        ("阶段", 12),
        ("单位截止", 18),
        ("已报", 8),
        ("未报", 8),
        ("逾期", 8),
        ("免报", 8),
        ("共计", 8),
    ]
    _prepare(summary, f"{ledger.campaign} 督办台账", columns)
    fills: list[PatternFill | None] = []
    for s in ledger.cycles:
        c = s.counts
        summary.append(
            [
                s.obligation,
                zh_period(s.period),
                STAGE_ZH.get(s.stage.value, s.stage.value),
                _local(s.unit_due.at, s.unit_due.tz),
                c.get("submitted", 0),
                c.get("pending", 0),
                c.get("overdue", 0),
                c.get("waived", 0),
                c.get("total", 0),
            ]
        )
        fills.append(RED_FILL if c.get("overdue") else None)
    _finish_rows(summary, fills)
    for s in ledger.cycles:
        cycle_sheet(wb, s)
    for lead in ledger.leads:
        lead_sheet(wb, lead)
    return wb


def ledger_bytes(ledger: Ledger) -> bytes:
    out = io.BytesIO()
    build_workbook(ledger).save(out)
    return out.getvalue()


async def collect_ledger(
    client: Client, campaign: str, progress: Progress | None = None, archive: Archive | None = None
) -> Ledger:
    refs = await calls.list_cycles(client, campaign, archive=archive)
    task = progress.add_task("读取报送周期", total=len(refs)) if progress else None
    ledger = Ledger(campaign)
    for ref in refs:
        # A cycle the worker cannot answer for is left out, not fatal for the rest.
        with contextlib.suppress(calls.Rejected):
            ledger.cycles.append(await calls.cycle_status(client, ref.cycle_id, archive))
        if progress and task is not None:
            progress.advance(task)
    for lead_id in await calls.list_leads(client, campaign, archive):
        with contextlib.suppress(calls.Rejected):
            ledger.leads.append(await calls.lead_status(client, lead_id, archive))
    return ledger
