"""Calendar-feed links are read-only, a unit's revocation is global and permanent, and a unit is known by
(office, unit) (issue 21, item 1). Against the dev server, a worker and the SMTP sink; the links are the
ones the notice mails carried."""

import re
from collections.abc import AsyncIterator

import httpx
import icalendar
import pytest

from console import client_calls as calls
from console.auth import hash_password
from console.web.app import create_app
from schemas.cycle import SubmitReport
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.security.helpers import OPERATOR, PASSWORD, mailed_links, new_id, path_of, sign_in, tokens
from workflows.reporting_cycle import ReportingCycle

# A portal token is a signed blob of dozens of characters; the plain console link has none.
PORTAL_TOKEN = re.compile(r"/portal/[A-Za-z0-9_\-]{16,}")


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(update={"operators": {OPERATOR: hash_password(PASSWORD, n=2**4)}})
    app = create_app(settings, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def feed_events(response: httpx.Response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200, response.text[:300]
    cal = icalendar.Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


async def test_feed_carries_no_portal_link(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """The feed a notice mail links to lists the unit's deadlines with no write link in any property."""
    unit, office = new_id("u"), new_id("o")
    for name in ("feed-ro-1", "feed-ro-2"):
        await cycle_stack.open_cycle(name, units={unit: "甲单位"}, office_id=office)
    (_, feed), *_ = await mailed_links(cycle_stack, f"{unit}@units.example", 2)
    response = await web.get(path_of(feed))
    assert len(feed_events(response)) == 2
    unfolded = response.content.decode().replace("\r\n ", "")
    assert not PORTAL_TOKEN.search(unfolded), "a portal (write) link is inside the feed"
    for event in feed_events(response).values():
        for prop in ("URL", "DESCRIPTION"):
            assert not PORTAL_TOKEN.search(str(event.get(prop, "")))


async def test_revocation_is_global_and_permanent(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Revoked through one cycle, every older link of the unit stays refused — its portal link to another
    cycle, and its feed link after no cycle with the revocation is in the feed any more."""
    stack, unit, office = cycle_stack, new_id("u"), new_id("o")
    first = await stack.open_cycle("feed-perm-1", units={unit: "甲单位"}, office_id=office)
    second = await stack.open_cycle("feed-perm-2", units={unit: "甲单位"}, office_id=office)
    mailed = await mailed_links(stack, f"{unit}@units.example", 2)
    by_cycle = {tokens(stack).read_portal(portal.rsplit("/", 1)[1]).cycle_id: (portal, feed) for portal, feed in mailed}
    old_portal_second, old_feed = by_cycle[second.id][0], by_cycle[first.id][1]
    assert (await web.get(path_of(old_portal_second))).status_code == 200

    csrf = await sign_in(web)
    revoked = await web.post(
        f"/api/cycles/{first.id}/units/{unit}/links/revoke",
        json={"reason": "通知被转发"},
        headers={"X-CSRF-Token": csrf},
    )
    assert revoked.status_code == 200, revoked.text
    fresh = revoked.json()

    # Global: the unit's link to the other cycle, made before the revocation, no longer opens.
    assert (await web.get(path_of(old_portal_second))).status_code == 403
    assert (await web.get(path_of(old_feed))).status_code == 404

    # The unit reports in both cycles: no cycle of the feed carries the revocation any more.
    for cycle in (first, second):
        call = SubmitReport(unit_id=unit, title="总结", body=await calls.store_text(stack.settings, "正文"))
        await calls.update(stack.client, cycle.id, ReportingCycle.submit_report, call)
    # Permanent: the old feed link stays refused.
    refused = await web.get(path_of(old_feed))
    assert refused.status_code == 404 and "BEGIN:VCALENDAR" not in refused.text
    # The links handed out with the revocation work.
    assert (await web.get(path_of(fresh["feed_link"]))).status_code == 200
    assert (await web.get(path_of(fresh["portal_link"]))).status_code == 200


async def test_feed_is_bound_to_the_office(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Two offices with a unit of the same id: the feed from one office's notice shows only that office's
    deadline, and a revocation by one office leaves the other's links alone."""
    stack, unit = cycle_stack, new_id("u")
    office_a, office_b = new_id("oa"), new_id("ob")
    cycle_a = await stack.open_cycle("feed-office", units={unit: "公安局"}, office_id=office_a)
    cycle_b = await stack.open_cycle("feed-office", units={unit: "公安局"}, office_id=office_b)
    mailed = await mailed_links(stack, f"{unit}@units.example", 2)
    by_cycle = {tokens(stack).read_portal(portal.rsplit("/", 1)[1]).cycle_id: (portal, feed) for portal, feed in mailed}

    shown = feed_events(await web.get(path_of(by_cycle[cycle_a.id][1])))
    assert set(shown) == {f"{cycle_a.id}/{unit}@duban"}

    csrf = await sign_in(web)
    revoked = await web.post(
        f"/api/cycles/{cycle_a.id}/units/{unit}/links/revoke", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert revoked.status_code == 200, revoked.text
    assert (await web.get(path_of(by_cycle[cycle_a.id][0]))).status_code == 403
    assert (await web.get(path_of(by_cycle[cycle_b.id][0]))).status_code == 200
    assert set(feed_events(await web.get(path_of(by_cycle[cycle_b.id][1])))) == {f"{cycle_b.id}/{unit}@duban"}
