"""The lead portal through the console app against a live dev server and worker: the token decides the
unit, a refused action changes nothing and says why in Chinese, a revoked or foreign link opens nothing."""

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.portal_tokens import PortalTokens
from console.access_store import FILE_NAME, RevocationStore
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
        store = RevocationStore(cycle_stack.settings.data_dir / FILE_NAME)
        store.revoke("test-office", "scj", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        revoked = await web.get(f"/portal/{link}")
        assert revoked.status_code == 403 and "撤销" in revoked.text
        gone = await web.post(f"/portal/{link}/lead", data={"csrf_token": csrf[1], "action": "decide"})
        assert gone.status_code == 403
    finally:
        await handle.terminate("test over")
