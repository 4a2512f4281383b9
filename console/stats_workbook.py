"""The statistics as Excel (按时报送情况统计): the console's download and `duban stats --xlsx` write the same workbook.

Long tables an office filters and pivots as it likes, laid out for A4 like the ledger
(console/ledger.py): every unit by year, every unit by campaign, every office (with
its own upward reports), and each unit in each cycle.
"""

import io

from openpyxl import Workbook
from openpyxl.styles import PatternFill

from console.ledger import GREY_FILL, RED_FILL, YELLOW_FILL, _finish_rows, _prepare
from domain.legaltime.wording import zh_period
from schemas.stats import Outcome, StatsFilter, StatsReport, SubjectStats, Tally

OUTCOME_ZH = {
    Outcome.ON_TIME: "按时",
    Outcome.LATE: "逾期报送",
    Outcome.MISSED: "未报",
    Outcome.OPEN: "未到期",
    Outcome.WAIVED: "免报",
    Outcome.WITHDRAWN: "已撤出",
}
TALLY_COLUMNS = [
    ("周期数", 8),
    ("按时", 7),
    ("逾期报送", 9),
    ("未报", 7),
    ("未到期", 8),
    ("免报", 7),
    ("按时报送率", 11),
    ("逾期天数合计", 12),
    ("最长逾期天数", 12),
    ("退回次数", 9),
    ("报送份数", 9),
]


def filter_text(f: StatsFilter) -> str:
    parts = [f"专项行动 {f.campaign}" if f.campaign else "全部专项行动"]
    parts.append(f"{f.year}年度" if f.year is not None else "全部年度")
    parts.append(f"办公室 {f.office}" if f.office else "全部办公室")
    return "，".join(parts)


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def tally_cells(t: Tally) -> list[object]:
    return [
        t.cycles,
        t.on_time,
        t.late,
        t.missed,
        t.open,
        t.waived,
        rate_text(t.rate),
        t.days_late,
        t.max_days_late,
        t.returns,
        t.submissions,
    ]


def _fill(t: Tally) -> PatternFill | None:
    if t.missed:
        return RED_FILL
    return YELLOW_FILL if t.late else None


def _subject_sheet(
    wb: Workbook, title: str, heading: str, key: tuple[str, int], subjects: list[SubjectStats], by: str
) -> None:
    ws = wb.create_sheet(title)
    _prepare(ws, heading, [("单位", 24), ("单位代码", 14), ("办公室", 12), key, *TALLY_COLUMNS])
    fills: list[PatternFill | None] = []
    for s in subjects:
        groups: dict[str, Tally] = (
            {str(y): t for y, t in sorted(s.by_year.items())} if by == "year" else dict(sorted(s.by_campaign.items()))
        )
        for label, t in [*groups.items(), ("合计", s.total)]:
            ws.append([s.name, s.id, s.office_id, label, *tally_cells(t)])
            fills.append(_fill(t))
    _finish_rows(ws, fills)


def build_workbook(report: StatsReport) -> Workbook:
    wb = Workbook()
    offices = wb.active
    assert offices is not None
    offices.title = "各办公室"
    scope = filter_text(report.filter)
    _prepare(
        offices,
        f"按时报送情况统计（{scope}，{report.cycles} 个报送周期）",
        [("办公室", 16), ("范围", 14), ("年度", 8), *TALLY_COLUMNS],
    )
    fills: list[PatternFill | None] = []
    for o in report.offices:
        for label, year, t in [
            *(("所辖单位", str(y), t) for y, t in sorted(o.by_year.items())),
            ("所辖单位", "合计", o.total),
            *(("本办上报", str(y), t) for y, t in sorted(o.upward_by_year.items())),
            ("本办上报", "合计", o.upward),
        ]:
            offices.append([o.id, label, year, *tally_cells(t)])
            fills.append(_fill(t))
    _finish_rows(offices, fills)
    _subject_sheet(wb, "各单位按年度", f"各单位按年度（{scope}）", ("年度", 8), report.units, "year")
    _subject_sheet(wb, "各单位按专项行动", f"各单位按专项行动（{scope}）", ("专项行动", 16), report.units, "campaign")
    detail = wb.create_sheet("明细")
    _prepare(
        detail,
        f"各周期各单位报送结果（{scope}）",
        [
            ("专项行动", 14),
            ("办公室", 12),
            ("期次", 14),
            ("年度", 7),
            ("单位", 24),
            ("单位代码", 14),
            ("结果", 10),
            ("逾期天数", 9),
            ("退回次数", 9),
            ("报送份数", 9),
        ],
    )
    fills = []
    for c in report.rows:
        for u in c.units:
            detail.append(
                [
                    c.campaign_id,
                    c.office_id,
                    zh_period(c.period),
                    c.year,
                    u.unit_name,
                    u.unit_id,
                    OUTCOME_ZH[u.outcome],
                    u.days_late or None,
                    u.returns or None,
                    u.submissions,
                ]
            )
            fills.append(
                {Outcome.MISSED: RED_FILL, Outcome.LATE: YELLOW_FILL, Outcome.WAIVED: GREY_FILL}.get(u.outcome)
            )
    _finish_rows(detail, fills)
    return wb


def workbook_bytes(report: StatsReport) -> bytes:
    out = io.BytesIO()
    build_workbook(report).save(out)
    return out.getvalue()


def filename(f: StatsFilter) -> str:
    parts = ["按时报送情况统计", f.campaign, f"{f.year}年度" if f.year is not None else "", f.office]
    return "-".join(p for p in parts if p) + ".xlsx"
