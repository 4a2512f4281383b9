"""Official documents as Word files: the bulletin (通报) of late units, the roll-up summary (汇总报告) and
the bulletin of information adoption (信息报送采用情况通报).

Laid out after GB/T 9704-2012 《党政机关公文格式》 as far as a .docx can say it:
A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; 22 lines of
about 28 characters (exact line spacing 28.95 pt); the issuing office in red
over a red rule (版头); the title in 2号小标宋 (22 pt), centred; body text in
3号仿宋 (16 pt), first lines indented two characters; first-level headings in
3号黑体, second-level in 3号楷体; signature and date (成文日期, arabic figures)
at the end; page numbers in 4号 (14 pt) as "— 1 —", right on odd pages and
left on even ones.

The fonts government offices install (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312)
are named with an `altName` in the font table (宋体, 仿宋, 楷体), so Word and
WPS show a close font where the exact one is missing.

The same input gives the same bytes: core properties carry the document's
date and the zip entries a fixed time, so a retried roll-up activity lands on
the same blob.
"""

import datetime as dt
import io
import zipfile
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from domain.legaltime.wording import zh_date, zh_moment, zh_titled
from domain.submission_caps import files_of
from schemas.cycle import UnitPhase
from schemas.documents import BulletinRequest
from schemas.info import InfoStats
from schemas.info_plan import INFO_KIND_ZH
from schemas.notify import MessageContext, UnitLine
from schemas.rollup import RollupRequest, RollupUnit

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Mm(37), Mm(35), Mm(28), Mm(26)
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
TITLE_SIZE, BODY_SIZE, PAGE_NUMBER_SIZE = Pt(22), Pt(16), Pt(14)  # 2号, 3号, 4号
RED = RGBColor(0xC0, 0x00, 0x00)

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
LATIN_FONT = "Times New Roman"
# Font-table fallbacks: what to show where the exact government font is not installed.
ALT_NAMES = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", SUBHEADING_FONT: "楷体", HEADING_FONT: "黑体"}

ORDINALS = "一二三四五六七八九十"
_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _ordinal(n: int) -> str:
    """一, 二 … 十, 十一 … 九十九, 一百, 一百零一, 一百一十 …: the numbering of headings in an official document."""
    if n <= 10:
        return ORDINALS[n - 1]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (ORDINALS[tens - 1] if tens > 1 else "") + "十" + (ORDINALS[ones - 1] if ones else "")
    if n >= 1000:
        return str(n)  # a roll-up of a thousand units is numbered in digits
    hundreds, rest = divmod(n, 100)
    head = ORDINALS[hundreds - 1] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + ORDINALS[rest - 1]
    # Past 百 the tens digit is spoken: 一百一十, not 一百十.
    return head + (ORDINALS[rest // 10 - 1] + "十" + (ORDINALS[rest % 10 - 1] if rest % 10 else ""))


# ---- the page -----------------------------------------------------------------------------------


def _set_font(run_or_style: Any, name: str, size: Pt, bold: bool = False) -> None:
    font = run_or_style.font
    font.name = LATIN_FONT
    font.size = size
    font.bold = bold
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)


def _font_table_fallbacks(doc: Any) -> None:
    """Declare the government fonts with their altName, so a missing one falls back to a close system font."""
    part = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    entries = "".join(
        f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        f'<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
        for name, alt in ALT_NAMES.items()
    )
    # The font table is a plain part to python-docx (no API); its XML is small and fixed.
    part._blob = part.blob.replace(b"</w:fonts>", entries.encode("utf-8") + b"</w:fonts>")


def _page_number(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """ "— 1 —" in 4号 with a PAGE field; a one-character space to the edge as GB/T 9704 asks."""
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.left_indent = Pt(14) if align is WD_ALIGN_PARAGRAPH.LEFT else None
    fmt.right_indent = Pt(14) if align is WD_ALIGN_PARAGRAPH.RIGHT else None
    _set_font(paragraph.add_run("— "), "宋体", PAGE_NUMBER_SIZE)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        _set_font(run, "宋体", PAGE_NUMBER_SIZE)
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text or ""
    _set_font(paragraph.add_run(" —"), "宋体", PAGE_NUMBER_SIZE)


def _new_document(when: dt.datetime, title: str, author: str) -> Any:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    section.footer_distance = Mm(28) - Mm(7)  # the number line sits about 7 mm below the type area
    normal = doc.styles["Normal"]
    _set_font(normal, BODY_FONT, BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    # Odd pages number on the right, even pages on the left.
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)
    _font_table_fallbacks(doc)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = when.astimezone(dt.UTC).replace(tzinfo=None)
    props.revision = 1
    props.comments = props.keywords = props.subject = ""
    return doc


def _para(doc: Any, text: str = "", *, indent: bool = True, align: WD_ALIGN_PARAGRAPH | None = None) -> Paragraph:
    p: Paragraph = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(32)  # two characters of 3号
    if align is not None:
        p.alignment = align
    if text:
        _set_font(p.add_run(text), BODY_FONT, BODY_SIZE)
    return p


def _heading(doc: Any, text: str, font: str) -> None:
    p = _para(doc)
    _set_font(p.add_run(text), font, BODY_SIZE)


def _masthead(doc: Any, office: str, number: str) -> None:
    """版头: the issuing office in red, the document number, a red rule."""
    head = _para(doc, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    head.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    run = head.add_run(office)
    _set_font(run, TITLE_FONT, Pt(26))
    run.font.color.rgb = RED
    line = _para(doc, number, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "12"), ("space", "4"), ("color", "C00000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    line._p.get_or_add_pPr().append(border)
    _para(doc, indent=False)


def _title(doc: Any, text: str) -> None:
    p = _para(doc, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    p.paragraph_format.line_spacing = Pt(35)  # 2号 lines need more than the body pitch
    _set_font(p.add_run(text), TITLE_FONT, TITLE_SIZE)
    _para(doc, indent=False)


def _signature(doc: Any, office: str, when: dt.date) -> None:
    """发文机关署名 and 成文日期 (arabic figures, GB/T 9704-2012 §7.3.5), right, four characters in."""
    _para(doc, indent=False)
    for text in (office, f"{when.year}年{when.month}月{when.day}日"):
        p = _para(doc, text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(64)


def _to_bytes(doc: Any) -> bytes:
    """The .docx with fixed zip times: the same document gives the same bytes (and the same blob)."""
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, _FIXED_ZIP_TIME), src.read(info.filename))
    return out.getvalue()


def _local(at: dt.datetime, tz: str) -> dt.datetime:
    return at.astimezone(ZoneInfo(tz))


def _basis(number: str, title: str) -> str:
    if title and number:
        return f"根据《{title}》（{number}）要求，"
    if number or title:
        return f"根据{number or '《' + title + '》'}要求，"
    return ""


# ---- the bulletin -------------------------------------------------------------------------------


def bulletin_title(req: BulletinRequest) -> str:
    return f"关于{zh_titled(req.obligation_title, req.period)}逾期未报送情况的通报"


def bulletin_docx(req: BulletinRequest) -> bytes:
    """通报: the late units named, their deadlines and days late, a call to report, the contact."""
    issued = _local(req.issued_at, req.tz)
    doc = _new_document(req.issued_at, bulletin_title(req), req.office_name)
    _masthead(doc, req.office_name, req.document.number)
    _title(doc, bulletin_title(req))
    _para(doc, "各成员单位、各县（区）打假办：", indent=False)
    dues = sorted({_local(u.due.at, u.due.tz).date() for u in req.late_units if u.due})
    due_text = "、".join(zh_date(d) for d in dues) or "规定时间"
    _para(
        doc,
        f"{_basis(req.document.number, req.document.title)}各单位应于{due_text}前报送{req.obligation_title}。"
        f"截至{zh_date(issued.date())}，以下{len(req.late_units)}个单位仍未报送，现予通报：",
    )
    for n, unit in enumerate(req.late_units, start=1):
        _para(doc, f"{n}．{unit.unit_name}（{_late_words(unit)}）")
    _para(doc, "请上述单位高度重视，于收到本通报后立即报送，并书面说明逾期原因。")
    if req.contact:
        phone = f"，电话：{req.contact.phone}" if req.contact.phone else ""
        _para(doc, f"联系人：{req.contact.name}{phone}。")
    _signature(doc, req.office_name, issued.date())
    return _to_bytes(doc)


def _late_words(unit: UnitLine) -> str:
    due = f"应于{zh_moment(_local(unit.due.at, unit.due.tz))}前报送" if unit.due else "未按时报送"
    late = f"，已逾期{unit.days_late}日" if unit.days_late else "，已逾期"
    return due + late


def bulletin_request(context: MessageContext, issued_at: dt.datetime) -> BulletinRequest:
    """The bulletin a BULLETIN notification stands for, from what the message carries."""
    tz = next((u.due.tz for u in context.late_units if u.due), context.due.tz if context.due else "Asia/Shanghai")
    return BulletinRequest(
        document=context.document,
        office_name=context.office_name or context.document.office_name or "办公室",
        obligation_title=context.obligation_title or "报送事项",
        period=context.period,
        issued_at=issued_at,
        tz=tz,
        late_units=context.late_units,
        escalation_level=context.escalation_level,
        contact=context.contact,
    )


def bulletin_filename(req: BulletinRequest) -> str:
    return f"通报-{zh_titled(req.obligation_title, req.period)}.docx"


# ---- the roll-up summary ------------------------------------------------------------------------


def summary_title(req: RollupRequest) -> str:
    return f"关于{zh_titled(req.obligation_title, req.period)}报送情况的汇总报告"


def summary_docx(req: RollupRequest) -> bytes:
    """汇总报告: counts, every unit's submissions in the plan's order, the units that did not report."""
    tz = req.upward_due.tz if req.upward_due else (req.units[0].due.tz if req.units else "Asia/Shanghai")
    compiled = _local(req.compiled_at, tz)
    doc = _new_document(req.compiled_at, summary_title(req), req.office_name)
    _masthead(doc, req.office_name, req.document.number)
    _title(doc, summary_title(req))
    reported = [u for u in req.units if u.reported]
    waived = [u for u in req.units if u.phase is UnitPhase.WAIVED]
    withdrawn = [u for u in req.units if u.phase is UnitPhase.WITHDRAWN]
    owing = [u for u in req.units if u.phase is not UnitPhase.WITHDRAWN]
    missing = [u for u in req.units if u.missing]
    basis = _basis(req.document.upstream_number or req.document.number, req.document.title)
    _para(
        doc,
        f"{basis}现将{req.office_name}{req.campaign_title}{zh_titled(req.obligation_title, req.period)}"
        "报送情况汇总报告如下：",
    )
    _heading(doc, "一、报送情况", HEADING_FONT)
    _para(
        doc,
        f"应报送单位{len(owing)}个，已报送{len(reported)}个，免报{len(waived)}个，未报送{len(missing)}个"
        f"{f'；另有{len(withdrawn)}个单位已撤回，不再报送' if withdrawn else ''}。汇总时间：{zh_moment(compiled)}。",
    )
    _heading(doc, "二、各单位报送材料", HEADING_FONT)
    for n, unit in enumerate(req.units, start=1):
        _heading(doc, f"（{_ordinal(n)}）{unit.unit_name}", SUBHEADING_FONT)
        for line in _unit_lines(unit, tz):
            _para(doc, line)
    _heading(doc, "三、未报送单位", HEADING_FONT)
    _para(doc, "、".join(u.unit_name for u in missing) + "。" if missing else "无。")
    _signature(doc, req.office_name, compiled.date())
    return _to_bytes(doc)


def _unit_lines(unit: RollupUnit, tz: str) -> list[str]:
    if unit.submissions:
        lines = [] if unit.reported else [f"{unit.status_zh}。"]
        for sub in unit.submissions:
            late = "，逾期报送" if sub.late else ""
            when = zh_moment(_local(sub.submitted_at, tz))
            files = [r.name for r in files_of(sub)]
            attached = f"；材料：{'、'.join(files)}" if files else ""
            lines.append(f"《{sub.title}》，{when}报送（回执号{sub.receipt_no}{late}）{attached}。")
        return lines
    if unit.phase is UnitPhase.WAIVED:
        return [f"免报：{unit.waived_reason}。" if unit.waived_reason else "免报。"]
    if unit.phase is UnitPhase.WITHDRAWN:
        return ["已撤回，本期不再报送。"]
    return [f"未报送（应于{zh_moment(_local(unit.due.at, unit.due.tz))}前报送）。"]


def summary_filename(req: RollupRequest) -> str:
    return f"汇总报告-{zh_titled(req.obligation_title, req.period)}.docx"


# ---- the information adoption bulletin (信息报送采用情况通报) --------------------------------------


def info_bulletin_title(stats: InfoStats) -> str:
    return f"关于{stats.period_zh}{stats.title}采用情况的通报"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def _table(doc: Any, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if c else WD_ALIGN_PARAGRAPH.LEFT
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            # Tables in official documents use a smaller size than the body (4号 here).
            _set_font(p.add_run(value), HEADING_FONT if r == 0 else BODY_FONT, PAGE_NUMBER_SIZE)


def info_bulletin_docx(stats: InfoStats) -> bytes:
    """通报 of information adoption: totals, a table per unit (sent, adopted, rate, by kind), who sent nothing."""
    issued = _local(stats.computed_at, stats.tz)
    title = info_bulletin_title(stats)
    doc = _new_document(stats.computed_at, title, stats.office_name)
    _masthead(doc, stats.office_name, stats.document.number)
    _title(doc, title)
    _para(doc, "各成员单位、各县（区）打假办：", indent=False)
    basis = _basis(stats.document.number, stats.document.title)
    _para(doc, f"{basis}现将{stats.period_zh}各单位{stats.title}采用情况通报如下：")
    _heading(doc, "一、总体情况", HEADING_FONT)
    total = stats.total
    kinds = "，".join(f"{INFO_KIND_ZH[k]}{c.sent}条、采用{c.adopted}条" for k, c in total.by_kind.items() if c.sent)
    _para(
        doc,
        f"{stats.period_zh}共收到各单位报送信息{total.sent}条，采用{total.adopted}条，采用率{_pct(total.rate)}"
        + (f"；其中{kinds}" if kinds else "")
        + "。",
    )
    _heading(doc, "二、各单位报送采用情况", HEADING_FONT)
    header = ["单位", "报送", "采用", "采用率", *(INFO_KIND_ZH[k] for k in total.by_kind)]
    ranked = sorted(stats.rows, key=lambda r: (-r.adopted, -r.sent))
    rows = [
        [r.unit_name, str(r.sent), str(r.adopted), _pct(r.rate), *(f"{c.adopted}/{c.sent}" for c in r.by_kind.values())]
        for r in [*ranked, total]
    ]
    _table(doc, header, rows)
    _para(doc, "注：各类别栏为“采用/报送”条数；按信息首次报送时间计入统计期。", indent=False)
    _heading(doc, "三、有关要求", HEADING_FONT)
    silent = [r.unit_name for r in stats.rows if r.sent == 0]
    if silent:
        _para(doc, f"{stats.period_zh}以下单位未报送信息：{'、'.join(silent)}。请上述单位加强信息报送工作。")
    _para(doc, "请各单位及时报送专项行动工作动态、典型案例和经验做法，提高信息质量和时效。")
    if stats.contact:
        phone = f"，电话：{stats.contact.phone}" if stats.contact.phone else ""
        _para(doc, f"联系人：{stats.contact.name}{phone}。")
    _signature(doc, stats.office_name, issued.date())
    return _to_bytes(doc)


def info_bulletin_filename(stats: InfoStats) -> str:
    return f"通报-信息报送采用情况（{stats.period}）.docx"
