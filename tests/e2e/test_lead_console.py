"""Operators act on leads from the console's lead page, against a live dev server and worker: an
operator signs and decides for the receiving unit (the timeline names the operator and the unit), a
refused action is shown in Chinese and changes nothing, a leadership account may look but not act."""

import re
import urllib.parse
from collections.abc import AsyncIterator

import httpx
import pytest

from console.auth import hash_password
from console.web.app import create_app
from schemas.lead import LeadStatus, LeadStatusQuery
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_lead_cli import duban, lead_campaign  # noqa: F401 -- the fixture
from workflows.lead_referral import LeadReferral

PASSWORD = "operator password 1"
LEADER_PASSWORD = "leader password 1"


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(
        update={"operators": {"zhang": hash_password(PASSWORD)}, "leaders": {"li": hash_password(LEADER_PASSWORD)}}
    )
    app = create_app(settings, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def sign_in(web: httpx.AsyncClient, user: str, password: str) -> str:
    """Sign in; returns the CSRF token the forms carry."""
    page = await web.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    signed = await web.post("/login", data={"username": user, "password": password, "csrf_token": token[1]})
    assert signed.status_code == 303, signed.text[:500]
    return token[1]


def stage_box(page: str, stage: str) -> str:
    """The CSS class of a stage's box in the (first track's) diagram."""
    found = re.search(rf'<li class="stage ([a-z ]+)" data-stage="{stage}"', page)
    assert found, page[:2000]
    return found[1]


async def test_operator_signs_and_decides_a_leader_is_refused(
    web: httpx.AsyncClient,
    cycle_stack: CycleStack,
    lead_campaign: str,  # noqa: F811 -- the fixture
) -> None:
    referred = await duban(
        cycle_stack,
        *("lead", "refer", "--campaign", lead_campaign, "--from", "hg", "--to", "scj"),
        *("--policy", "between-agencies", "--title", "控制台代办测试", "--json"),
    )
    lead_id = referred.json()["lead_id"]
    url = f"/leads/{urllib.parse.quote(lead_id, safe='')}"
    handle = cycle_stack.client.get_workflow_handle(lead_id)

    async def status() -> LeadStatus:
        return await handle.query(LeadReferral.get_status, LeadStatusQuery())

    try:
        # Leadership: the diagram and the clocks, no forms; a form posted anyway is refused and changes nothing.
        token = await sign_in(web, "li", LEADER_PASSWORD)
        page = await web.get(url)
        assert page.status_code == 200
        assert stage_box(page.text, "sign") == "current" and stage_box(page.text, "decide") == "idle"
        assert 'class="countdown"' in page.text and 'class="lead-action"' not in page.text
        before = await status()
        sign = {"csrf_token": token, "action": "sign_for", "unit_id": "scj", "track": "scj"}
        refused = await web.post(f"{url}/actions", data=sign)
        assert refused.status_code == 403 and "领导账号只能查看" in refused.text
        after = await status()
        assert (after.stages, after.timeline) == (before.stages, before.timeline)

        # The operator: forms for the open stage; no CSRF token, no action.
        token = await sign_in(web, "zhang", PASSWORD)
        page = await web.get(url)
        assert 'data-action="sign_for"' in page.text and 'data-unit="scj"' in page.text
        forged = await web.post(f"{url}/actions", data={**sign, "csrf_token": "forged"})
        assert forged.status_code == 403

        # Closing before signing for: the lead's validator refuses, in Chinese, and nothing changes.
        early = await web.post(
            f"{url}/actions",
            data={"csrf_token": token, "action": "close", "unit_id": "scj", "text": "结案"},
            follow_redirects=True,
        )
        assert "操作未执行" in early.text and "不能办结" in early.text
        # Bad fields are refused before any Update: an unknown action, an unknown decision, an unknown unit.
        for bad, words in (
            ({"action": "destroy", "unit_id": "scj"}, "未知操作"),
            ({"action": "decide", "unit_id": "scj", "decision": "burn"}, "未知的决定"),
            ({"action": "decide", "unit_id": "scj", "decision": "police", "to": "nobody"}, "没有单位"),
            ({"action": "decide", "unit_id": "scj", "decision": "police"}, "须选择接收单位"),
            ({"action": "decide", "unit_id": "scj", "decision": "decline"}, "不予立案须说明理由"),
            ({"action": "feedback", "unit_id": "scj", "text": ""}, "进展情况不能为空"),
        ):
            shown = await web.post(f"{url}/actions", data={"csrf_token": token, **bad}, follow_redirects=True)
            assert "操作未执行" in shown.text and words in shown.text, bad
        after = await status()
        assert (after.stages, after.timeline) == (before.stages, before.timeline)

        signed = await web.post(f"{url}/actions", data=sign, follow_redirects=True)
        assert "已完成" in signed.text and "已签收" in signed.text
        decided = await web.post(
            f"{url}/actions",
            data={"csrf_token": token, "action": "decide", "unit_id": "scj", "track": "scj", "decision": "open"},
            follow_redirects=True,
        )
        assert "已完成" in decided.text
        assert stage_box(decided.text, "sign") == stage_box(decided.text, "decide") == "done"
        assert stage_box(decided.text, "feedback") == "current"

        done = await status()
        by = {e.what.split(":")[0]: e.by for e in done.timeline}
        assert by["signed_for"] == by["decided"] == "zhang（代scj办理）"
        assert [(r.name.value, r.done_at is not None) for r in done.stages][:2] == [("sign", True), ("decide", True)]
    finally:
        await handle.terminate("test over")


async def test_operator_decides_extensions_and_revokes_a_lead_link(
    web: httpx.AsyncClient,
    cycle_stack: CycleStack,
    lead_campaign: str,  # noqa: F811 -- the fixture
) -> None:
    """The operator asks for the unit, refuses (a reason is required), then grants after a new request; the
    page shows each unit's lead link, and revoking one shows a new link that opens while the old is refused."""
    referred = await duban(
        cycle_stack,
        *("lead", "refer", "--campaign", lead_campaign, "--from", "hg", "--to", "scj"),
        *("--policy", "between-agencies", "--title", "控制台延期测试", "--json"),
    )
    lead_id = referred.json()["lead_id"]
    url = f"/leads/{urllib.parse.quote(lead_id, safe='')}"
    handle = cycle_stack.client.get_workflow_handle(lead_id)

    async def status() -> LeadStatus:
        return await handle.query(LeadReferral.get_status, LeadStatusQuery())

    try:
        token = await sign_in(web, "zhang", PASSWORD)
        ask = {"csrf_token": token, "action": "extension", "unit_id": "scj", "track": "scj", "stage": "sign"}
        asked = await web.post(f"{url}/actions", data={**ask, "days": "1", "text": "材料未到"}, follow_redirects=True)
        assert "已完成" in asked.text and 'class="lead-extension-decision"' in asked.text
        due = (await status()).stages[0].due
        decide = {"csrf_token": token, "unit_id": "scj", "track": "scj", "stage": "sign"}
        blank = await web.post(f"{url}/extension", data={**decide, "approve": "no"}, follow_redirects=True)
        assert "操作未执行" in blank.text and "不予延期须说明理由" in blank.text
        no = await web.post(
            f"{url}/extension", data={**decide, "approve": "no", "text": "时限够用"}, follow_redirects=True
        )
        assert "已不予延期" in no.text and "办公室不予延期" in no.text
        assert (await status()).stages[0].due == due
        await web.post(f"{url}/actions", data={**ask, "days": "1", "text": "仍需核实"})
        yes = await web.post(f"{url}/extension", data={**decide, "approve": "yes"}, follow_redirects=True)
        assert "已批准延期1个工作日" in yes.text
        done = await status()
        assert done.stages[0].due > due
        assert [e.by for e in done.timeline if e.what.startswith("extension_")] == [
            "zhang（代scj办理）",
            "zhang",
            "zhang（代scj办理）",
            "zhang",
        ]

        # Each unit's lead link, and revoking one: the old link is refused, the page's new link opens.
        old = re.search(
            r'data-unit="scj"><td>scj</td><td><input class="link" readonly value="[^"]*/portal/([^"]+)"', yes.text
        )
        assert old, yes.text[-3000:]
        assert (await web.get(f"/portal/{old[1]}")).status_code == 200
        revoked = await web.post(
            f"{url}/units/scj/links/revoke", data={"csrf_token": token, "reason": "转发到外部群"}, follow_redirects=True
        )
        assert "已撤销此前的链接" in revoked.text
        new = re.search(
            r'data-unit="scj"><td>scj</td><td><input class="link" readonly value="[^"]*/portal/([^"]+)"', revoked.text
        )
        assert new and new[1] != old[1]
        assert (await web.get(f"/portal/{old[1]}")).status_code == 403
        assert (await web.get(f"/portal/{new[1]}")).status_code == 200
        assert any(e.what == "links_revoked" and e.by == "zhang" for e in (await status()).timeline)
    finally:
        await handle.terminate("test over")
