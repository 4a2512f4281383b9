"""The console in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright):
sign in, see the board, open a unit's portal link from a caught email, submit a file,
see the board turn green, download the ledger.

Set SAVE_SCREENSHOTS=1 to (re)write docs/screenshots/ for the README.
"""

import asyncio
import contextlib
import email
import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from email.policy import default as default_policy
from pathlib import Path

import pytest
import uvicorn
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, async_playwright, expect

from console.auth import dev_admin_password
from console.web.app import create_app
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
async def console_url(cycle_stack: CycleStack) -> AsyncIterator[str]:
    """The console served by uvicorn on the stack's public URL, in this event loop."""
    s = cycle_stack.settings
    app = create_app(s, client=cycle_stack.client)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=s.console_port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    yield s.public_url
    server.should_exit = True
    await task


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _chromium_present() -> bool:
    return bool(shutil.which(CHROMIUM)) or Path(CHROMIUM).exists()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not _chromium_present():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def portal_link_from_mail(stack: CycleStack, address: str, base: str) -> str:
    """The portal link in the first notice mailed to `address` (waits for the worker to send it)."""
    for _ in range(100):
        for raw in stack.mail_to(address):
            msg = email.message_from_string(raw, policy=default_policy)
            body = msg.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else raw
            match = re.search(re.escape(base) + r"/portal/[A-Za-z0-9._-]+", str(text))
            if match:
                return match[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no portal link mailed to {address}")


async def shot(page: Page, name: str, tmp_path: Path) -> None:
    await page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def test_operator_and_unit_round(
    cycle_stack: CycleStack, console_url: str, browser: Browser, tmp_path: Path
) -> None:
    """The issue's browser round, end to end."""
    handle = await cycle_stack.open_cycle("browser", units={"unit-a": "甲单位", "unit-b": "乙单位"})
    context = await browser.new_context(accept_downloads=True, locale="zh-CN")
    page = await context.new_page()

    # Sign in as the development admin (no operators configured).
    await page.goto(f"{console_url}/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", dev_admin_password(cycle_stack.settings))
    await page.click("button[type=submit]")
    await page.goto(f"{console_url}/?campaign={cycle_stack.campaign}")
    card = page.locator(f'section[data-cycle="{handle.id}"]')
    await expect(card.locator('li[data-unit="unit-a"]')).to_have_attribute("data-light", "blue")
    await expect(card).to_contain_text("已报 0")

    # The unit opens its link from the notice e-mail and submits a file.
    link = await portal_link_from_mail(cycle_stack, "unit-a@units.example", console_url)
    unit_page = await context.new_page()
    await unit_page.goto(link)
    await expect(unit_page.locator("h1")).to_have_text("甲单位")
    report = tmp_path / "上半年工作总结.pdf"
    report.write_bytes(b"%PDF-1.4\n% test report\n")
    await unit_page.fill("input[name=title]", "上半年工作总结")
    await unit_page.fill("textarea[name=text]", "开展联合检查 12 次，查处案件 3 起。")
    await unit_page.set_input_files("input[name=files]", str(report))
    await unit_page.click("form.submit button[type=submit]")
    await expect(unit_page.locator(".receipt-no")).to_contain_text("-unit-a-")
    await expect(unit_page.locator('[data-light="green"]')).to_be_visible()
    await shot(unit_page, "portal.png", tmp_path)

    # The board turns green for unit A, unit B stays as it was.
    await page.reload()
    await expect(card.locator('li[data-unit="unit-a"]')).to_have_attribute("data-light", "green")
    await expect(card.locator('li[data-unit="unit-b"]')).to_have_attribute("data-light", "blue")
    await expect(card).to_contain_text("已报 1")
    await shot(page, "board.png", tmp_path)

    # The ledger downloads and lists the submission.
    async with page.expect_download() as info:
        await page.click("text=导出台账 (Excel)")
    download = await info.value
    path = await download.path()
    assert path is not None
    wb = load_workbook(io.BytesIO(_read(path)))
    sheet = next(ws for ws in wb.worksheets if ws.title.startswith("browser"))
    rows = {r[1]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["unit-a"][2] == "已报送"
    assert rows["unit-b"][2] == "未到期"
    assert sheet.freeze_panes == "A3"

    # The cycle page draws its timeline chart.
    await page.goto(f"{console_url}/cycles/{handle.id}")
    await expect(page.locator("svg.chart")).to_be_visible()
    await shot(page, "cycle.png", tmp_path)
    with contextlib.suppress(Exception):
        await context.close()
