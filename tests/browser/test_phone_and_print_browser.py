"""The unit portal on a phone (360×740) and the board and unit page on paper, in real headless Chromium
(issue 19): no sideways scrolling, tap targets a finger can hit, a report submitted by tapping; in print,
no navigation, forms or buttons, a header with what is printed and when, and an A4 PDF."""

import datetime as dt
import itertools
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from console.auth import dev_admin_password
from tests.browser.test_console_browser import (  # noqa: F401 -- the fixtures
    browser,
    console_url,
    portal_link_from_mail,
    shot,
)
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
# A file name as offices write them: long, Chinese, no spaces to break at.
LONG_NAME = "2026年上半年打击侵权假冒工作总结（雅安市公安局经济犯罪侦查支队）最终修改稿.pdf"

# Everything a finger taps on the portal, visible, with its box: WCAG 2.5.5 asks for 44×44 CSS px.
TAPPABLE = """() => [...document.querySelectorAll(
    'main button, main input:not([type=hidden]), main select, main textarea, main summary, main td a')]
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return {what: e.outerHTML.slice(0, 60), height: r.height, left: r.left, right: r.right}; })"""


async def scroll_width(page: Page) -> int:
    width: int = await page.evaluate("document.scrollingElement.scrollWidth")
    return width


async def assert_fits_a_phone(page: Page) -> None:
    assert await scroll_width(page) <= PHONE["width"], "the page scrolls sideways"
    for box in await page.evaluate(TAPPABLE):
        assert box["height"] >= 44, f"tap target under 44 px: {box}"
        assert box["left"] >= 0 and box["right"] <= PHONE["width"], f"off the screen: {box}"


async def test_portal_on_a_360_px_phone(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the fixture imported above
    browser: Browser,  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    """A unit opens its mailed link on a phone, reads its deadline, and submits a report by tapping."""
    await cycle_stack.open_cycle("phone", units={"unit-p": "雅安市公安局经济犯罪侦查支队"})
    link = await portal_link_from_mail(cycle_stack, "unit-p@units.example", console_url)
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = await context.new_page()
    await page.goto(link)
    await expect(page.locator("h1")).to_have_text("雅安市公安局经济犯罪侦查支队")
    await assert_fits_a_phone(page)

    # The form is one column: each field below the one before, as wide as the card.
    boxes = [await page.locator(sel).bounding_box() for sel in ("select[name=kind]", "input[name=title]",
             "textarea[name=text]", "input[name=files]", "form.submit button[type=submit]")]  # fmt: skip
    assert all(b is not None for b in boxes)
    lefts = {round(b["x"]) for b in boxes if b}
    assert len(lefts) == 1, f"fields side by side: {boxes}"
    for above, below in itertools.pairwise(boxes):
        assert above and below and below["y"] >= above["y"] + above["height"], "fields overlap"
    assert all(b and b["width"] >= 300 for b in boxes), "fields narrower than the screen allows"

    report = tmp_path / LONG_NAME
    report.write_bytes(b"%PDF-1.4\n% phone report\n")
    await page.tap("select[name=kind]")
    await page.fill("input[name=title]", "上半年工作总结")
    await page.fill("textarea[name=text]", "开展联合检查 12 次。")
    await page.set_input_files("input[name=files]", str(report))
    await page.tap("form.submit button[type=submit]")
    await expect(page.locator(".receipt-no")).to_contain_text("-unit-p-")
    await expect(page.locator('[data-light="green"]')).to_be_visible()

    # With the receipt and the submissions table shown: still no sideways scroll, the table as cards.
    await assert_fits_a_phone(page)
    row = page.locator("table.subs tbody tr").first
    assert await row.evaluate("e => getComputedStyle(e).display") == "block"
    await expect(page.locator("table.subs thead")).to_be_hidden()
    await expect(row).to_contain_text(LONG_NAME)
    await shot(page, "portal-phone.png", tmp_path)
    await context.close()


async def test_board_and_unit_page_print(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the fixture imported above
    browser: Browser,  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    """In print media the board and the unit page show no navigation, form or button, carry a header with
    the cycle's title and today's date, and print to an A4 PDF."""
    handle = await cycle_stack.open_cycle("print", units={"unit-q": "雅安海关"})
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{console_url}/login")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", dev_admin_password(cycle_stack.settings))
    await page.click("button[type=submit]")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    for name, url, title in (
        ("board", f"{console_url}/?campaign={cycle_stack.campaign}", f"报送看板 · {cycle_stack.campaign}"),
        ("unit", f"{console_url}/cycles/{handle.id}/units/unit-q", "print 工作总结 · 2026年度 · 雅安海关"),
    ):
        await page.goto(url)
        await page.emulate_media(media="screen")
        await expect(page.locator("header.top nav")).to_be_visible()  # the same page on screen has them
        await expect(page.locator(".print-head")).to_be_hidden()
        await page.emulate_media(media="print")
        await expect(page.locator("header.top nav")).to_be_hidden()
        for what in ("form", "button", "a.button", "[data-link=portal]"):
            shown = [e for e in await page.locator(what).all() if await e.is_visible()]
            assert shown == [], f"{what} printed on {url}"
        head = page.locator(".print-head")
        await expect(head).to_be_visible()
        await expect(head).to_contain_text(title)
        await expect(head).to_contain_text(re.compile(rf"打印时间 {today} \d\d:\d\d"))
        # The page size is the stylesheet's (@page size: A4 = 595×842 points; Chromium's default is Letter).
        pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
        assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
        boxes = {tuple(round(float(x)) for x in m) for m in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)}
        assert boxes and all(abs(w - 595) <= 1 and abs(h - 842) <= 1 for w, h in boxes), f"not A4: {boxes}"
        await shot(page, f"print-{name}.png", tmp_path)
    await context.close()
