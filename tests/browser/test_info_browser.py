"""Timely information reports (及时报送) in real headless Chromium, both offices on one stack:
a unit sends a typical case from its portal link, the city office adopts it and sends it up, it
lands in the province's channel within the limit, the unit sees "已采用", and the scores page shows
the table, the chart and the 通报 as .docx.
"""

import asyncio
import datetime as dt
import io
import re
import urllib.parse
from pathlib import Path

import docx
import pytest
from playwright.async_api import Browser, Page, expect

from console import info_calls
from console.auth import dev_admin_password
from schemas.info import InfoState
from schemas.info_plan import InfoPlan
from schemas.plan import CampaignPlan, UpperOffice
from tests.browser.test_console_browser import _read, browser, console_url, portal_link_from_mail, shot  # noqa: F401
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.info_support import Handle, end_started, info_plan, start_channel

pytestmark = pytest.mark.browser


def channel_page(base: str, channel_id: str, tail: str = "") -> str:
    return f"{base}/info/{urllib.parse.quote(channel_id, safe='')}{tail}"


async def sign_in(page: Page, base: str, stack: CycleStack) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", dev_admin_password(stack.settings))
    await page.click("button[type=submit]")
    await expect(page).not_to_have_url(re.compile(r"/login"))


async def test_typical_case_from_portal_to_the_province(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the imported fixture
    browser: Browser,  # noqa: F811 -- the imported fixture
    tmp_path: Path,
) -> None:
    """The issue's browser round for 及时报送."""
    queue = cycle_stack.settings.temporal.task_queue
    province = info_plan(n_units=2, office_id="sc", rules=InfoPlan(forward_within=None))
    province = province.model_copy(
        update={
            "units": [province.units[0].model_copy(update={"id": "yaan", "name": "雅安市打假办"}), province.units[1]]
        }
    )
    upper = UpperOffice(id="sc", name="四川省打假办", email="office@sc.example", campaign=province.id, as_unit="yaan")
    city = info_plan(n_units=3, office_id="yaan", upper=upper)
    now = dt.datetime.now(dt.UTC)
    up = await start_channel(cycle_stack.client, queue, province, now)
    down = await start_channel(cycle_stack.client, queue, city, now)
    try:
        await _round(cycle_stack, console_url, browser, tmp_path, city, up, down)
    finally:
        # Channels of this module's worker must not outlive it on the session's dev server (boards would
        # wait on them).
        await end_started()


async def _round(
    cycle_stack: CycleStack,
    base: str,
    chromium: Browser,
    tmp_path: Path,
    city: CampaignPlan,
    up: Handle,
    down: Handle,
) -> None:
    context = await chromium.new_context(accept_downloads=True, locale="zh-CN")

    # The unit opens the link from the channel's opening notice and sends a typical case with a file.
    link = await portal_link_from_mail(cycle_stack, "u2@yaan.example", base)
    unit = await context.new_page()
    await unit.goto(link)
    await expect(unit.locator("h1")).to_have_text("测试单位2")
    case = tmp_path / "典型案例.pdf"
    case.write_bytes(b"%PDF-1.4\n% typical case\n")
    await unit.select_option("select[name=kind]", "typical_case")
    await unit.fill("input[name=title]", "查获出口假冒灯具案")
    await unit.fill("textarea[name=text]", "联合海关查获假冒品牌灯具 2000 件，已移送公安机关。")
    await unit.set_input_files("input[name=files]", str(case))
    await unit.click("form.submit button[type=submit]")
    await expect(unit.locator(".receipt-no")).to_have_text(f"{city.id}:yaan:1")
    await expect(unit.locator('tr[data-item="1"] .state')).to_have_text("待审核")

    # The operator adopts it in the console; it then waits to go up, with its limit, on the board.
    page = await context.new_page()
    await sign_in(page, base, cycle_stack)
    await page.goto(channel_page(base, down.id))
    item = page.locator('article.item[data-item="1"]')
    await expect(item).to_contain_text("查获出口假冒灯具案")
    await expect(item.locator("blockquote")).to_contain_text("2000 件")
    await item.locator("input[name=note]").fill("案例典型，拟报省打假办")
    await item.locator("button.adopt").click()
    await expect(page.locator(".flash")).to_contain_text("已采用")
    await page.goto(f"{base}/")
    await expect(page.locator(f'section.info[data-channel="{down.id}"]')).to_contain_text("查获出口假冒灯具案")
    await page.goto(channel_page(base, down.id))
    waiting = page.locator(f'table.info-waiting tr[data-item="{city.id}:yaan:1"]')
    await expect(waiting).to_contain_text("查获出口假冒灯具案")
    await waiting.locator("button.forward").click()
    await expect(page.locator(".flash")).to_contain_text("立即上报")

    # It lands in the province's channel, as the city's item, within the limit.
    for _ in range(100):
        found = await info_calls.view(cycle_stack.client, down.id)
        if found.items[0].forwarded_at:
            break
        await asyncio.sleep(0.1)
    sent = found.items[0]
    assert sent.forwarded_how == "channel" and sent.forward_due is not None and sent.forwarded_at is not None
    assert sent.forwarded_at <= sent.forward_due.at
    await page.goto(channel_page(base, up.id))
    arrived = page.locator('article.item[data-item="1"]')
    await expect(arrived).to_contain_text("查获出口假冒灯具案")
    await expect(arrived).to_contain_text("雅安市打假办")
    province_items = await info_calls.view(cycle_stack.client, up.id)
    assert province_items.items[0].origin == f"{city.id}:yaan:1"
    assert province_items.items[0].state is InfoState.PENDING

    # The unit sees it adopted (and gone up) in its portal.
    await unit.goto(link)
    await expect(unit.locator('tr[data-item="1"] .state')).to_contain_text("已采用")
    await shot(unit, "info-portal.png", tmp_path)

    # The scores: table and chart in the console, the 通报 as .docx.
    period = info_calls.current_quarter(dt.datetime.now(dt.UTC))
    await page.goto(channel_page(base, down.id, f"/stats?period={period}"))
    row = page.locator('table.info-stats tr[data-unit="u2"]')
    await expect(row.locator(".sent")).to_have_text("1")
    await expect(row.locator(".adopted")).to_have_text("1")
    await expect(row.locator(".rate")).to_have_text("100.0%")
    await expect(page.locator("svg.chart.adoption rect[data-unit='u2'][data-what='采用']")).to_have_attribute(
        "data-n", "1"
    )
    await shot(page, "info-stats.png", tmp_path)
    async with page.expect_download() as info:
        await page.click("text=下载通报 (Word)")
    download = await info.value
    path = await download.path()
    assert path is not None
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(_read(Path(path)))).paragraphs)
    assert "信息报送采用情况的通报" in text and "采用1条" in text
    await context.close()
