"""The lead portal in real headless Chromium: a lead referred by the CLI reaches the receiving agency's
mailbox; from the link in that mail the agency signs for it, hands it to the police, approves the
transfer and transfers it with its materials uploaded; the police unit's own link shows the 3-day
filing clock (Decree 310 Art. 8). Every step is the lead's Update, audited with the portal as `by`."""

import asyncio
import email
import re
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from schemas.lead import LeadStatusQuery, StageName
from tests.browser.test_console_browser import browser, console_url  # noqa: F401 -- the fixtures
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_lead_cli import duban, lead_campaign  # noqa: F401 -- the fixture
from workflows.lead_referral import LeadReferral

pytestmark = pytest.mark.browser


async def lead_link(stack: CycleStack, address: str, base: str, subject_part: str) -> str:
    """The portal link in the first message to `address` whose subject contains `subject_part`."""
    for _ in range(150):
        for raw in stack.mail_to(address):
            msg = email.message_from_string(raw, policy=default_policy)
            if subject_part not in str(msg["Subject"]):
                continue
            body = msg.get_body(preferencelist=("plain",))
            match = re.search(re.escape(base) + r"/portal/[A-Za-z0-9._-]+", body.get_content() if body else raw)
            if match:
                return match[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no lead mail with {subject_part!r} and a link to {address}")


async def act(page: Page, stage: str, button: str) -> None:
    form = page.locator(f'form.lead-action[data-stage="{stage}"]')
    await form.get_by_role("button", name=button).click()
    await expect(page.locator(".receipt")).to_be_visible()


async def test_agency_acts_from_its_mail_and_police_see_the_filing_clock(
    cycle_stack: CycleStack,
    console_url: str,  # noqa: F811 -- the fixture
    browser: Browser,  # noqa: F811 -- the fixture
    lead_campaign: str,  # noqa: F811 -- the fixture
    tmp_path: Path,
) -> None:
    """The issue's browser round for a lead, from the CLI to the police unit's own page."""
    referred = await duban(
        cycle_stack,
        *("lead", "refer", "--campaign", lead_campaign, "--from", "hg", "--to", "scj"),
        *("--policy", "between-agencies", "--title", "出口灯具涉嫌假冒商标", "--json"),
    )
    lead_id = referred.json()["lead_id"]
    handle = cycle_stack.client.get_workflow_handle(lead_id)
    try:
        link = await lead_link(cycle_stack, "scj@units.example", console_url, "签收")
        page = await (await browser.new_context(locale="zh-CN")).new_page()
        await page.goto(link)
        await expect(page.locator("h1")).to_have_text("市场监管局")
        await expect(page.locator('tr[data-stage="sign"] .due')).not_to_be_empty()

        await act(page, "sign", "签收")
        decide = page.locator('form.lead-action[data-stage="decide"]')
        await decide.locator("select[name=decision]").select_option("police")
        await decide.locator("select[name=to]").select_option("gaj")
        await decide.locator("input[name=text]").fill("涉嫌销售假冒注册商标的商品罪")
        await act(page, "decide", "提交决定")
        await act(page, "approve", "提交审批")
        material = tmp_path / "移送材料清单.pdf"
        material.write_bytes(b"%PDF-1.4 test material list")
        transfer = page.locator('form.lead-action[data-stage="transfer"]')
        await transfer.locator("input[type=file]").set_input_files(str(material))
        await act(page, "transfer", "移送公安机关")
        await expect(page.locator(".timeline")).to_contain_text("移送材料清单.pdf")
        # No action left for the agency while the police decide.
        await expect(page.locator("form.lead-action")).to_have_count(0)

        status = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        file_stage = next(r for r in status.stages if r.name is StageName.FILE)
        assert file_stage.unit == "gaj" and file_stage.done_at is None
        assert (file_stage.due - file_stage.started_at).days >= 3  # 3 days, start day not counted
        by = {e.what: e.by for e in status.timeline}
        assert by["signed_for"] == by["transferred"] == "scj（线索专用链接）"

        police_link = await lead_link(cycle_stack, "gaj@units.example", console_url, "立案审查")
        assert police_link != link
        police = await (await browser.new_context(locale="zh-CN")).new_page()
        await police.goto(police_link)
        await expect(police.locator("h1")).to_have_text("公安局")
        clock = police.locator('tr[data-stage="file"]')
        await expect(clock).to_contain_text("立案审查")
        await expect(clock).to_contain_text("3日")
        shanghai = file_stage.due.astimezone(ZoneInfo("Asia/Shanghai"))
        await expect(clock.locator(".due")).to_contain_text(shanghai.strftime("%Y-%m-%d %H:%M"))
        await expect(police.locator('form.lead-action[data-stage="file"]')).to_have_count(1)
        # The agency's link does not act for the police: its page offers no filing decision.
        await page.reload()
        await expect(page.locator('form.lead-action[data-stage="file"]')).to_have_count(0)
    finally:
        desc = await handle.describe()
        if desc.status is not None and desc.status.name == "RUNNING":
            await handle.terminate("test over")
