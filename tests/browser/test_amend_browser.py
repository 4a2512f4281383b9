"""An operator amends a running cycle in real headless Chromium (issue 19): uploads the edited plan on the
cycle page, sees the difference, applies it; the new unit receives its notice (SMTP sink) and opens its
portal; the dropped unit shows as 已撤回 on the board."""

from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, expect

from console.auth import dev_admin_password
from tests.browser.test_console_browser import browser, console_url, portal_link_from_mail  # noqa: F401 -- fixtures
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_amend_cli import plan_yaml, write

pytestmark = pytest.mark.browser


async def test_operator_adds_a_unit_who_then_receives_the_notice(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the fixture imported above
    browser: Browser,  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    """Upload → difference (新增 unit-d, 撤回 unit-c) → 确认调整 → unit-d's notice in the sink, its portal opens."""
    stack = cycle_stack
    handle = await stack.open_cycle("amend-browser", units={"unit-a": "甲单位", "unit-c": "丙单位"})
    units = {"unit-a": ("甲单位", "unit-a@units.example"), "unit-d": ("丁单位", "unit-d@units.example")}
    plan = write(tmp_path / "计划（修改）.yaml", plan_yaml(stack, "amend-browser", units))

    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{console_url}/login")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", dev_admin_password(stack.settings))
    await page.click("button[type=submit]")

    cycle_page = f"{console_url}/cycles/{quote(handle.id, safe='')}"
    await page.goto(cycle_page)
    await page.set_input_files("form.amend input[name=plan_file]", str(plan))
    await page.select_option("form.amend select[name=new_units_due]", "rule")
    await page.click("button[data-action=amend-preview]")
    await expect(page.locator('tr[data-unit="unit-d"]')).to_contain_text("新增")
    await expect(page.locator('tr[data-unit="unit-c"]')).to_contain_text("撤回")
    assert await page.locator('tr[data-unit="unit-a"]').count() == 0  # unchanged: not listed
    assert stack.mail_to("unit-d@units.example") == [], "a preview sent mail"

    await page.click("button[data-action=amend-apply]")
    await page.wait_for_url(cycle_page)
    await expect(page.locator(".flash")).to_contain_text("已调整")
    await expect(page.locator('tr[data-unit="unit-c"]')).to_contain_text("已撤回")
    await expect(page.locator('tr[data-unit="unit-d"]')).to_be_visible()

    # The new unit's notice reaches the sink, and its portal link opens the unit's page.
    link = await portal_link_from_mail(stack, "unit-d@units.example", console_url)
    portal = await context.new_page()
    await portal.goto(link)
    await expect(portal.locator("body")).to_contain_text("丁单位")
    await context.close()
