"""The office reads what units sent from the command line (issue 19): `duban submissions`, `duban submission
get` and `duban submission rollup`, as installed, against the dev server, a worker and the SMTP sink."""

import io
import json
import zipfile
from pathlib import Path

from docx import Document

from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import duban

PDF = b"%PDF-1.4\n% half-year report\n"
DOCX_NAME = "附件1：典型案例（市公安局）.docx"


def docx_bytes(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


class TestSubmissionsCommands:
    async def test_list_get_and_rollup(self, cycle_stack: CycleStack, tmp_path: Path) -> None:
        """A unit's body and files come back byte for byte under their Chinese names; the roll-up before
        forwarding is compiled from the current submissions; a second write into the same directory is refused."""
        cid = (await cycle_stack.open_cycle("reading")).id
        pdf = tmp_path / "上半年工作总结.pdf"
        pdf.write_bytes(PDF)
        docx = tmp_path / DOCX_NAME
        docx.write_bytes(docx_bytes("查处案件 3 起"))
        sent = await duban(
            cycle_stack, "submit", "--cycle", cid, "--unit", "unit-a", "--file", str(pdf), "--file", str(docx),
            "--text", "开展联合检查 12 次。", "--title", "上半年工作总结", "--json",
        )  # fmt: skip
        receipt = sent.json()["receipt_no"]
        other = await duban(cycle_stack, "submit", "--cycle", cid, "--unit", "unit-b", "--text", "乙单位正文", "--json")
        other_receipt = other.json()["receipt_no"]

        listed = (await duban(cycle_stack, "submissions", "--cycle", cid, "--json")).json()
        assert [(i["receipt"], i["unit"]) for i in listed] == [(receipt, "unit-a"), (other_receipt, "unit-b")]
        first = listed[0]
        assert first["kind"] == "summary" and first["title"] == "上半年工作总结" and first["late"] is False
        assert [(f["name"], f["size"]) for f in first["files"]] == [
            ("上半年工作总结.pdf", len(PDF)),
            (DOCX_NAME, len(docx.read_bytes())),
        ]
        assert all(len(f["sha256"]) == 64 for f in first["files"])
        assert first["body"]["name"] == "正文.txt"
        only_b = (await duban(cycle_stack, "submissions", "--cycle", cid, "--unit", "unit-b", "--json")).json()
        assert [i["receipt"] for i in only_b] == [other_receipt]
        human = await duban(cycle_stack, "submissions", "--cycle", cid)
        assert human.code == 0 and receipt in human.out and "甲单位" in human.out

        out = tmp_path / "材料"
        got = await duban(cycle_stack, "submission", "get", receipt, "-o", str(out), "--json")
        written = got.json()
        assert written["cycle_id"] == cid and written["unit"] == "unit-a"
        assert sorted(p.name for p in out.iterdir()) == sorted(["正文.txt", "上半年工作总结.pdf", DOCX_NAME])
        assert (out / "上半年工作总结.pdf").read_bytes() == PDF
        assert (out / DOCX_NAME).read_bytes() == docx.read_bytes()
        assert (out / "正文.txt").read_text(encoding="utf-8") == "开展联合检查 12 次。"
        # Every file read is logged with who and what, never its name or content.
        audit = [json.loads(line) for line in got.err.splitlines() if '"download"' in line]
        assert len(audit) == 3 and {a["receipt"] for a in audit} == {receipt}
        assert all(a["user"] and a["cycle_id"] == cid for a in audit)
        assert "上半年工作总结" not in got.err and "开展联合检查" not in got.err

        again = await duban(cycle_stack, "submission", "get", receipt, "-o", str(out))
        assert again.code == 2 and "would overwrite" in again.err
        assert (out / "上半年工作总结.pdf").read_bytes() == PDF

        unknown = await duban(cycle_stack, "submission", "get", "2026-Y-unit-a-9999", "-o", str(tmp_path / "x"))
        assert unknown.code == 2 and "no submission" in unknown.err
        assert not (tmp_path / "x").exists()
        garbage = await duban(cycle_stack, "submission", "get", "not-a-receipt", "-o", str(tmp_path / "y"))
        assert garbage.code == 2 and "not a receipt number" in garbage.err

        roll = tmp_path / "汇总"
        done = (await duban(cycle_stack, "submission", "rollup", "--cycle", cid, "-o", str(roll), "--json")).json()
        assert done["forwarded"] is False
        with zipfile.ZipFile(done["package"]) as zf:
            names = zf.namelist()
            assert any(n.endswith(f"{receipt}-上半年工作总结.pdf") for n in names)
            pdf_entry = next(n for n in names if n.endswith(".pdf"))
            assert zf.read(pdf_entry) == PDF
            index = json.loads(zf.read("index.json"))
        assert index["reported"] == ["unit-a", "unit-b"] and index["missing"] == ["unit-c"]
        summary = Document(done["summary"])
        text = "\n".join(p.text for p in summary.paragraphs)
        assert "丙单位" in text and "上半年工作总结" in text
        assert Path(done["summary"]).name.startswith("汇总报告-")
