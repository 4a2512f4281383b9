"""The lead portal through the console app against a live dev server and worker: the token decides the
unit, a refused action changes nothing and says why in Chinese, a revoked or foreign link opens nothing."""

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.portal_tokens import PortalTokens
from activities.records import Records
from console.access_store import RevocationStore
from console.web.app import create_app
from schemas.lead import LeadStatusQuery
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_lead_cli import duban, lead_campaign  # noqa: F401 -- the fixture
from workflows.lead_referral import LeadReferral


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(cycle_stack.settings, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def tokens(stack: CycleStack) -> PortalTokens:
    s = stack.settings
    return PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)


async def test_lead_portal_acts_only_as_the_token_says(
    web: httpx.AsyncClient,
    cycle_stack: CycleStack,
    lead_campaign: str,  # noqa: F811 -- the fixture
) -> None:
    """Wrong stage refused (nothing changes); a unit outside the lead, a forged or a revoked link: 403."""
    referred = await duban(
        cycle_stack,
        *("lead", "refer", "--campaign", lead_campaign, "--from", "hg", "--to", "scj"),
        *("--policy", "between-agencies", "--title", "线索门户测试", "--json"),
    )
    lead_id = referred.json()["lead_id"]
    handle = cycle_stack.client.get_workflow_handle(lead_id)
    try:
        link = tokens(cycle_stack).portal_token(lead_id, "scj")
        page = await web.get(f"/portal/{link}")
        assert page.status_code == 200, page.text[:500]
        assert "线索门户测试" in page.text and 'data-stage="sign"' in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        before = await handle.query(LeadReferral.get_status, LeadStatusQuery())

        # Closing before signing for: the lead's own validator refuses, in Chinese, and nothing changes.
        # The unit_id in the form is ignored: the token decides who acts.
        refused = await web.post(
            f"/portal/{link}/lead",
            data={"csrf_token": csrf[1], "action": "close", "text": "结案", "unit_id": "gaj"},
        )
        assert refused.status_code == 400
        assert "不能办结" in refused.text
        after = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        assert (after.stages, after.timeline) == (before.stages, before.timeline)
        forged = await web.post(f"/portal/{link}/lead", data={"csrf_token": "forged", "action": "sign_for"})
        assert forged.status_code == 403

        signed = await web.post(f"/portal/{link}/lead", data={"csrf_token": csrf[1], "action": "sign_for"})
        assert signed.status_code == 200 and "已签收" in signed.text
        status = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        assert next(e for e in status.timeline if e.what == "signed_for").by == "scj（线索专用链接）"

        # The police have no part in the lead yet; a forged token opens nothing.
        outsider = await web.get(f"/portal/{tokens(cycle_stack).portal_token(lead_id, 'gaj')}")
        assert outsider.status_code == 403 and "无关" in outsider.text
        assert (await web.get(f"/portal/{link}x")).status_code == 403

        # The office revokes scj's links (the access store): the old link stops opening.
        records = Records(cycle_stack.settings.records_url_value())
        await RevocationStore(records).revoke("test-office", "scj", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        await records.dispose()
        revoked = await web.get(f"/portal/{link}")
        assert revoked.status_code == 403 and "撤销" in revoked.text
        gone = await web.post(f"/portal/{link}/lead", data={"csrf_token": csrf[1], "action": "decide"})
        assert gone.status_code == 403
    finally:
        await handle.terminate("test over")


async def subjects_with(stack: CycleStack, address: str, words: str, wait_s: float = 20.0) -> list[str]:
    """Subjects of the mail to `address` that contain `words`, once there is one."""
    for _ in range(int(wait_s / 0.1)):
        found = [
            str(m["Subject"])
            for m in stack.sink.messages()
            if address in (m.get("X-Duban-Envelope-To") or "") and words in str(m["Subject"])
        ]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail with {words!r} to {address}")


async def test_extension_from_the_portal_decided_by_the_cli_and_the_link_revoked(
    web: httpx.AsyncClient,
    cycle_stack: CycleStack,
    lead_campaign: str,  # noqa: F811 -- the fixture
) -> None:
    """The agency asks from its page (a refused ask changes nothing), the office is mailed, grants by the CLI,
    the clock moves and the agency reads it in its mail and on its page; then the office revokes the link."""
    referred = await duban(
        cycle_stack,
        *("lead", "refer", "--campaign", lead_campaign, "--from", "hg", "--to", "scj"),
        *("--policy", "between-agencies", "--title", "延期申请测试", "--json"),
    )
    lead_id = referred.json()["lead_id"]
    handle = cycle_stack.client.get_workflow_handle(lead_id)
    try:
        link = tokens(cycle_stack).portal_token(lead_id, "scj")
        page = await web.get(f"/portal/{link}")
        assert 'class="lead-extension" data-action="extension" data-stage="sign"' in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        before = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        ask = {"csrf_token": csrf[1], "action": "extension", "track": "scj", "stage": "sign", "text": "需核实"}
        for bad, words in (({"days": "5"}, "最多还能延长1个工作日"), ({"days": "x"}, "正整数"), ({"text": ""}, "理由")):
            refused = await web.post(f"/portal/{link}/lead", data={**ask, "days": "1", **bad})
            assert refused.status_code == 400 and words in refused.text, bad
        after = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        assert (after.stages, after.timeline) == (before.stages, before.timeline)

        asked = await web.post(f"/portal/{link}/lead", data={**ask, "days": "1"})
        assert asked.status_code == 200 and "等待办公室审批" in asked.text and "延期申请审批中" in asked.text
        assert 'class="lead-extension"' not in asked.text  # one pending request at a time
        assert await subjects_with(cycle_stack, "office@units.example", "【线索延期申请】")

        nothing = await duban(cycle_stack, "lead", "extension", "refuse", lead_id, "--unit", "hg", "--reason", "否")
        assert nothing.code == 2 and "没有" in nothing.err
        granted = await duban(cycle_stack, "lead", "extension", "grant", lead_id, "--unit", "scj", "--json")
        receipt = granted.json()
        status = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        sign = status.stages[0]
        assert sign.due > before.stages[0].due and receipt["next_due"] is not None
        assert sign.extended == 1 and "经批准延期1个工作日" in sign.due_rule_zh
        assert await subjects_with(cycle_stack, "scj@units.example", "【线索同意延期】")
        shown = await web.get(f"/portal/{link}")
        assert "办公室已同意延期 1个工作日" in shown.text
        by = {e.what: e.by for e in status.timeline}
        assert by["extension_requested"] == "scj（线索专用链接）" and by["extension_granted"]

        # The office revokes scj's links: the old one is refused (Chinese first, whom to ask), a new one opens.
        revoked = await duban(cycle_stack, "lead", "link", "revoke", lead_id, "--unit", "scj", "--reason", "外泄")
        assert revoked.code == 0, revoked.err
        new_link = re.search(r"/portal/([A-Za-z0-9._-]+)", revoked.out)
        assert new_link
        old = await web.get(f"/portal/{link}")
        assert old.status_code == 403
        assert old.text.index("已被办公室撤销") < old.text.index("revoked") and "测试打假办（联系人）" in old.text
        assert (await web.get(f"/portal/{new_link[1]}")).status_code == 200
        fresh = await duban(cycle_stack, "lead", "link", "new", lead_id, "--unit", "scj", "--json")
        assert (
            await web.get(fresh.json()["portal_link"].removeprefix(cycle_stack.settings.public_url))
        ).status_code == 200
        outsider = await duban(cycle_stack, "lead", "link", "new", lead_id, "--unit", "gaj")
        assert outsider.code == 2
        timeline = (await handle.query(LeadReferral.get_status, LeadStatusQuery())).timeline
        assert any(e.what == "links_revoked" and e.detail == "外泄" for e in timeline)
    finally:
        await handle.terminate("test over")
