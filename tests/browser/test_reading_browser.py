"""The office reads what units sent, in real headless Chromium (issue 19): an operator opens a unit's PDF and
a picture in the browser, and downloads a Word file that keeps its Chinese name."""

import io
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from docx import Document
from playwright.async_api import Browser, expect

from console import client_calls as calls
from console.auth import dev_admin_password
from schemas.cycle import SubmitReport
from tests.browser.test_console_browser import browser, console_url  # noqa: F401 -- the fixtures
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture

pytestmark = pytest.mark.browser

DOCX_NAME = "附件2：典型案例汇编（市公安局）.docx"


def tiny_pdf() -> bytes:
    """A one-page PDF with its cross-reference table right, so the viewer opens it without repair."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length 44 >>\nstream\nBT /F1 18 Tf 20 40 Td (duban report) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A real (decodable) red PNG: signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def docx_bytes() -> bytes:
    doc = Document()
    doc.add_paragraph("典型案例：查处假冒注册商标案 1 起")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


async def test_operator_opens_pdf_and_picture_and_downloads_word(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the fixture imported above
    browser: Browser,  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    """From the unit page: the PDF and the picture open in the browser (inline, sandboxed); the .docx
    downloads under its Chinese name with its bytes intact."""
    handle = await cycle_stack.open_cycle("reading-browser", units={"unit-a": "甲单位", "unit-b": "乙单位"})
    pdf, png, docx = tiny_pdf(), tiny_png(), docx_bytes()
    call = SubmitReport(unit_id="unit-a", title="上半年工作总结", by="unit-a")
    files = [("上半年工作总结.pdf", pdf), ("现场照片.png", png), (DOCX_NAME, docx)]
    receipt = await calls.submit_files(cycle_stack.client, cycle_stack.settings, handle.id, call, "正文一段", files)

    context = await browser.new_context(accept_downloads=True, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{console_url}/login")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", dev_admin_password(cycle_stack.settings))
    await page.click("button[type=submit]")

    # From the board to the cycle's submissions, then the unit page's receipt to the submission itself.
    await page.goto(f"{console_url}/?campaign={cycle_stack.campaign}")
    await page.locator(f'section[data-cycle="{handle.id}"] a[data-link="submissions"]').click()
    await expect(page.locator(f'tr[data-receipt="{receipt.receipt_no}"]')).to_contain_text("甲单位")
    await page.goto(f"{console_url}/cycles/{quote(handle.id, safe='')}/units/unit-a")
    await page.locator(f'tr[data-receipt="{receipt.receipt_no}"] a', has_text=receipt.receipt_no).click()
    await expect(page.locator("h1")).to_have_text("上半年工作总结")
    await expect(page.locator("[data-body]")).to_have_text("正文一段")

    # The PDF opens in a new tab, in the browser's own viewer: shown, not downloaded (served inline, sandboxed).
    downloads: list[object] = []

    def seen(download: object) -> None:
        downloads.append(download)

    page.on("download", seen)
    async with context.expect_page() as opened:
        await page.locator('a[data-open="1"]').click()
    pdf_tab = await opened.value
    pdf_tab.on("download", seen)
    await pdf_tab.wait_for_load_state()
    assert re.search(r"/files/1$", pdf_tab.url)
    assert await pdf_tab.evaluate("document.contentType") == "application/pdf"
    assert downloads == [], "the PDF was downloaded instead of shown"
    served = await pdf_tab.request.get(pdf_tab.url)
    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["content-security-policy"] == "sandbox"
    assert await served.body() == pdf

    # The picture opens as an image the browser decoded (its natural size is the PNG's).
    async with context.expect_page() as opened:
        await page.locator('a[data-open="2"]').click()
    img_tab = await opened.value
    await img_tab.wait_for_load_state()
    size = await img_tab.evaluate("() => { const i = document.images[0]; return [i.naturalWidth, i.naturalHeight]; }")
    assert size == [4, 3]

    # The Word file downloads with its Chinese name and its bytes.
    page.remove_listener("download", seen)
    async with page.expect_download() as info:
        await page.locator('a[data-download="3"]').click()
    download = await info.value
    assert download.suggested_filename == DOCX_NAME
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes() == docx

    # The office's 汇总报告 downloads too, before forwarding, under its Chinese name.
    await page.goto(f"{console_url}/cycles/{quote(handle.id, safe='')}/submissions")
    async with page.expect_download() as info:
        await page.locator('a[data-rollup="summary"]').click()
    summary = await info.value
    assert summary.suggested_filename.startswith("汇总报告-") and summary.suggested_filename.endswith(".docx")
    await context.close()
