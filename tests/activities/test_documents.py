"""The official documents: they open with python-docx, hold the expected parts, and follow GB/T 9704 page setup."""

import datetime as dt
import io
import zipfile

import docx
import pytest
from docx.enum.text import WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from temporalio.testing import ActivityEnvironment

from activities.documents import bulletin_docx, bulletin_request, summary_docx
from activities.mail import MailActivities
from activities.rollup import RollupActivities
from schemas.blobs import BlobRef
from schemas.calendar import Due
from schemas.cycle import Submission, UnitPhase
from schemas.documents import BulletinRequest
from schemas.notify import DocumentRef, Template, UnitLine
from schemas.people import Contact
from schemas.plan import ReportKind
from schemas.rollup import RollupPackage, RollupRequest, RollupUnit
from tests.activities.mail_helpers import batch, context, note
from tests.activities.test_mail import send, stored
from tests.blobstores import local_store
from workers.dev.smtp_sink import SmtpSink

DUE = Due(at=dt.datetime(2026, 12, 14, 15, 59, 59, tzinfo=dt.UTC), rule="rolled to Monday")
DOCUMENT = DocumentRef(
    number="雅打假办发〔2017〕2号",
    title="关于转发《四川省2017年打击侵权假冒工作要点》的通知",
    office_name="雅安市打击侵权假冒工作领导小组办公室",
    upstream_number="川打假办发〔2017〕1号",
)
OFFICE = "雅安市打击侵权假冒工作领导小组办公室"
ISSUED = dt.datetime(2026, 12, 21, 1, 0, tzinfo=dt.UTC)  # 09:00 Beijing, Monday Dec 21


def texts(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def bulletin() -> BulletinRequest:
    return BulletinRequest(
        document=DOCUMENT,
        office_name=OFFICE,
        obligation_title="2026年度工作总结",
        period="2026-Y",
        issued_at=ISSUED,
        late_units=[
            UnitLine(unit_id="yaan-hg", unit_name="雅安海关", due=DUE, days_late=7),
            UnitLine(unit_id="mingshan", unit_name="名山区打假办", due=DUE, days_late=7),
        ],
        escalation_level=3,
        contact=Contact(name="郑继勇", phone="2824527"),
    )


def submission(title: str, receipt: str, late: bool = False) -> Submission:
    body = BlobRef(sha256="a" * 64, size=10, name="总结.docx")
    return Submission(
        receipt_no=receipt,
        version=1,
        kind=ReportKind.SUMMARY,
        title=title,
        body=body,
        submitted_at=dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC),
        late=late,
    )


def rollup_request(with_files: bool = False) -> RollupRequest:
    units = [
        RollupUnit(
            unit_id="yaan-gaj",
            unit_name="市公安局",
            phase=UnitPhase.SUBMITTED,
            due=DUE,
            submissions=[submission("市公安局2026年度工作总结", "2026-Y-yaan-gaj-0001")] if not with_files else [],
        ),
        RollupUnit(unit_id="yaan-hg", unit_name="雅安海关", phase=UnitPhase.PENDING, due=DUE),
        RollupUnit(
            unit_id="yaan-scjgj",
            unit_name="市市场监管局",
            phase=UnitPhase.SUBMITTED,
            due=DUE,
            submissions=[submission("市场监管局年度总结", "2026-Y-yaan-scjgj-0002", late=True)]
            if not with_files
            else [],
        ),
        RollupUnit(unit_id="mingshan", unit_name="名山区打假办", phase=UnitPhase.PENDING, due=DUE),
        RollupUnit(
            unit_id="tianquan",
            unit_name="天全县打假办",
            phase=UnitPhase.WAIVED,
            due=DUE,
            waived_reason="本期无相关工作",
        ),
    ]
    return RollupRequest(
        cycle_id="cycle:yaan:yaan:annual:2026-Y",
        campaign_title="清风行动",
        office_name=OFFICE,
        period="2026-Y",
        obligation_title="2026年度工作总结",
        document=DOCUMENT,
        compiled_at=ISSUED,
        units=units,
        upward_due=DUE,
    )


class TestPageSetup:
    @pytest.mark.parametrize("make", [lambda: bulletin_docx(bulletin()), lambda: summary_docx(rollup_request())])
    def test_gbt_9704_page_fonts_and_numbers(self, make) -> None:  # type: ignore[no-untyped-def]
        """A4, 37/35/28/26 mm margins, 28.95 pt lines, 3号仿宋 body, 2号小标宋 title, "— PAGE —" footers."""
        doc = docx.Document(io.BytesIO(make()))
        section = doc.sections[0]
        for got, want in [
            (section.page_width, Mm(210)),
            (section.page_height, Mm(297)),
            (section.top_margin, Mm(37)),
            (section.bottom_margin, Mm(35)),
            (section.left_margin, Mm(28)),
            (section.right_margin, Mm(26)),
        ]:
            assert abs(got - want) < Mm(0.1)
        normal = doc.styles["Normal"]
        assert normal.font.size == Pt(16)
        assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
        assert normal.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
        assert normal.paragraph_format.line_spacing == Pt(28.95)
        title_runs = [r for p in doc.paragraphs for r in p.runs if r.font.size == Pt(22)]
        assert title_runs and title_runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
        assert doc.settings.odd_and_even_pages_header_footer
        for footer in (section.footer, section.even_page_footer):
            xml = footer.paragraphs[0]._p.xml
            assert (
                "PAGE" in xml
                and footer.paragraphs[0].text.startswith("— ")
                and footer.paragraphs[0].text.endswith(" —")
            )
            assert all(r.font.size == Pt(14) for r in footer.paragraphs[0].runs)
        font_table = zipfile.ZipFile(io.BytesIO(make())).read("word/fontTable.xml").decode()
        assert 'w:name="方正小标宋简体"><w:altName w:val="宋体"/>' in font_table

    def test_same_input_same_bytes(self) -> None:
        """A retried roll-up must land on the same blob: no clock in the file."""
        assert summary_docx(rollup_request()) == summary_docx(rollup_request())
        assert bulletin_docx(bulletin()) == bulletin_docx(bulletin())


class TestBulletin:
    def test_number_title_office_late_units_and_date(self) -> None:
        paras = texts(bulletin_docx(bulletin()))
        body = "\n".join(paras)
        assert paras[0] == OFFICE and paras[1] == "雅打假办发〔2017〕2号"
        assert "关于2026年度工作总结逾期未报送情况的通报" in paras
        assert "2026年12月14日前报送2026年度工作总结" in body and "截至2026年12月21日" in body
        late = [p for p in paras if p[:2] in ("1．", "2．")]
        assert late == [
            "1．雅安海关（应于2026年12月14日（星期一）24:00前报送，已逾期7日）",
            "2．名山区打假办（应于2026年12月14日（星期一）24:00前报送，已逾期7日）",
        ]
        assert "联系人：郑继勇，电话：2824527。" in paras
        assert paras[-2:] == [OFFICE, "2026年12月21日"]
        assert docx.Document(io.BytesIO(bulletin_docx(bulletin()))).core_properties.author == OFFICE

    def test_from_a_bulletin_message(self) -> None:
        """The mail activity builds the request from the notification's context and the batch instant."""
        late = [UnitLine(unit_id="u1", unit_name="雨城区打假办", due=DUE, days_late=3)]
        req = bulletin_request(context(late_units=late, escalation_level=3), ISSUED)
        assert req.office_name == "雅安市打假办" and req.document.number == "雅打假办发〔2017〕2号"
        assert req.late_units == late and req.issued_at == ISSUED and req.tz == "Asia/Shanghai"

    def test_a_bulletin_needs_late_units(self) -> None:
        with pytest.raises(ValueError, match="late_units"):
            BulletinRequest(office_name=OFFICE, obligation_title="x", issued_at=ISSUED, late_units=[])


class TestSummary:
    def test_units_in_plan_order_and_the_missing(self) -> None:
        paras = texts(summary_docx(rollup_request()))
        body = "\n".join(paras)
        assert paras[1] == "雅打假办发〔2017〕2号"
        assert "关于2026年度工作总结报送情况的汇总报告" in paras
        assert "川打假办发〔2017〕1号" in body  # the upstream document the summary answers
        assert "应报送单位5个，已报送2个，免报1个，未报送2个。" in body
        headings = [p for p in paras if p.startswith("（")]
        assert headings == [
            "（一）市公安局",
            "（二）雅安海关",
            "（三）市市场监管局",
            "（四）名山区打假办",
            "（五）天全县打假办",
        ]
        assert "《市公安局2026年度工作总结》" in body and "回执号2026-Y-yaan-gaj-0001" in body
        assert "回执号2026-Y-yaan-scjgj-0002，逾期报送" in body and "材料：总结.docx" in body
        assert "免报：本期无相关工作。" in body
        assert paras[paras.index("三、未报送单位") + 1] == "雅安海关、名山区打假办。"
        assert paras[-2:] == [OFFICE, "2026年12月21日"]


class TestWiring:
    async def test_rollup_package_carries_the_summary(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """compile_rollup puts the .docx in the zip and returns it as the package's summary blob."""
        blobs = local_store(tmp_path / "blobs")
        package: RollupPackage = await ActivityEnvironment().run(
            RollupActivities(blobs, None).compile_rollup, rollup_request(with_files=True)
        )
        assert package.summary is not None
        assert package.summary.media_type.endswith("wordprocessingml.document")
        summary = await blobs.get(package.summary)
        with zipfile.ZipFile(io.BytesIO(await blobs.get(package.package))) as zf:
            assert zf.read(package.summary.name) == summary
        assert "（二）雅安海关" in texts(summary)
        # The unit's phase decides: accepted reports stand (this fixture's carry no files), pending units are missing.
        assert package.missing == ["yaan-hg", "mingshan"]
        assert package.reported == ["yaan-gaj", "yaan-scjgj"] and package.broken_files == []

    async def test_a_missing_or_corrupt_file_is_named_and_the_package_still_built(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """A report's file gone from the store, another truncated, a third tampered with: the package holds
        the rest, says what is missing in index.json and 汇总.txt, and compile_rollup returns instead of
        failing (and retrying forever)."""
        blobs = local_store(tmp_path / "blobs")
        kept = await blobs.put(b"kept report", "kept.txt")
        cut = await blobs.put(b"a report cut short", "cut.txt")
        (tmp_path / "blobs" / cut.sha256[:2] / cut.sha256).write_bytes(b"a report")  # truncated on disk
        forged = await blobs.put(b"a report someone edited", "forged.txt")
        sealed = tmp_path / "blobs" / forged.sha256[:2] / forged.sha256
        sealed.write_bytes(sealed.read_bytes()[:-1] + bytes([sealed.read_bytes()[-1] ^ 1]))  # tampered ciphertext
        gone = BlobRef(sha256="c" * 64, size=5, name="gone.txt")
        req = rollup_request()
        sub = req.units[0].submissions[0].model_copy(update={"body": kept, "attachments": [cut, forged, gone]})
        req.units[0].submissions = [sub]
        req.units[2].submissions = []
        package: RollupPackage = await ActivityEnvironment().run(RollupActivities(blobs, None).compile_rollup, req)
        assert [b.split(":")[0] for b in package.broken_files] == [
            f"{sub.receipt_no}/cut.txt",
            f"{sub.receipt_no}/forged.txt",
            f"{sub.receipt_no}/gone.txt",
        ]
        assert "failed authentication" in package.broken_files[1]
        with zipfile.ZipFile(io.BytesIO(await blobs.get(package.package))) as zf:
            names = zf.namelist()
            index = zf.read("index.json").decode()
            total = zf.read("汇总.txt").decode()
            assert zf.read(next(n for n in names if n.endswith("kept.txt"))) == b"kept report"
        assert not any(n.endswith(("cut.txt", "forged.txt", "gone.txt")) for n in names)
        assert '"complete": false' in index and "gone.txt" in index
        assert "材料缺失：gone.txt" in total and "本汇总不完整" in total

    async def test_a_returned_report_not_sent_again_is_not_counted_as_reported(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """退回修改 and never resubmitted: 未报送 in the summary's counts, the zip index and 汇总.txt."""
        blobs = local_store(tmp_path / "blobs")
        req = rollup_request()
        req.units[0].phase = UnitPhase.RETURNED
        req.units[0].submissions[0].body = await blobs.put(b"first version", "总结.docx")
        req.units[2].submissions[0].body = await blobs.put(b"market report", "总结.docx")
        package: RollupPackage = await ActivityEnvironment().run(RollupActivities(blobs, None).compile_rollup, req)
        assert "yaan-gaj" in package.missing and "yaan-gaj" not in package.reported
        body = "\n".join(texts(summary_docx(req)))
        assert "应报送单位5个，已报送1个，免报1个，未报送3个。" in body
        assert "退回修改，未重新报送。" in body
        with zipfile.ZipFile(io.BytesIO(await blobs.get(package.package))) as zf:
            assert "1. 市公安局：退回修改，未重新报送" in zf.read("汇总.txt").decode()

    async def test_bulletin_mail_carries_the_word_document(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Leadership's 通报 mail has the .docx attached, naming the late units; a reminder has none."""
        late = [UnitLine(unit_id="u1", unit_name="雨城区打假办", due=DUE, days_late=3)]
        bulletin_note = note("c1/escalate:bulletin/leadership/chief", "chief@yaan.example", Template.BULLETIN)
        bulletin_note.context = context(late_units=late, escalation_level=3)
        await send(mailer, batch(bulletin_note, note("c1/remind/u1", "u1@yaan.example", Template.REMINDER)))
        by_to = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in stored(sink)}
        docs = [a for a in by_to["chief@yaan.example"].iter_attachments() if a.get_filename().endswith(".docx")]
        assert len(docs) == 1 and docs[0].get_filename().startswith("通报")
        paras = texts(docs[0].get_content())
        assert "1．雨城区打假办（应于2026年12月14日（星期一）24:00前报送，已逾期3日）" in paras
        assert not [a for a in by_to["u1@yaan.example"].iter_attachments() if a.get_filename().endswith(".docx")]
