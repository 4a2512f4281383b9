"""The unit's calendar feed through the console app, against a live dev server, worker and SMTP sink:
it parses with icalendar, carries the mail invites' UIDs, drops a reported deadline and follows an extension."""

import asyncio
import datetime as dt
import email
from collections.abc import AsyncIterator
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from activities.portal_tokens import REVOKED, PortalTokens
from console import client_calls as calls
from console import links
from console.campaign_store import CampaignStore
from console.web.app import create_app
from schemas.cycle import DecideExtension, RequestExtension, SubmitReport
from schemas.lead import LeadStatusQuery, SignFor
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.lead_support import lead_input
from tests.plans import plan
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(cycle_stack.settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def tokens(stack: CycleStack) -> PortalTokens:
    s = stack.settings
    return PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)


async def events(web: httpx.AsyncClient, stack: CycleStack, unit: str) -> dict[str, icalendar.Event]:
    """The feed's events of this module's campaign (other modules share the dev server), by UID."""
    response = await web.get(f"/feed/{tokens(stack).feed_token('test-office', unit)}.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    found = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    return {uid: e for uid, e in found.items() if f":{stack.campaign}:" in uid}


async def eventually(check, wait_s: float = 10.0):  # type: ignore[no-untyped-def]
    """Visibility follows a change within milliseconds; poll instead of sleeping a fixed time."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        result = await check()
        if result is not None or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


def invite_uids(stack: CycleStack, address: str) -> set[str]:
    uids = set()
    for raw in stack.mail_to(address):
        msg = email.message_from_string(raw, policy=default_policy)
        for part in msg.walk():
            if part.get_content_type() == "text/calendar":
                cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
                uids |= {str(e["UID"]) for e in cal.walk("VEVENT")}
    return uids


async def test_feed_follows_reports_and_extensions(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Two open deadlines; a report removes one unit's event; an approved extension moves the same UID."""
    stack = cycle_stack
    first = await stack.open_cycle("feed-first", due_days=10)
    second = await stack.open_cycle("feed-second", due_days=20)
    uid_first, uid_second = f"{first.id}/unit-a@duban", f"{second.id}/unit-a@duban"

    feed = await events(web, stack, "unit-a")
    assert set(feed) == {uid_first, uid_second}
    status = await calls.cycle_status(stack.client, first.id)
    assert feed[uid_first].decoded("DTSTART") == status.unit_due.at
    assert feed[uid_first].walk("VALARM"), "a subscribed deadline reminds a day before"
    # Read-only: the event points at the console's door, not at the unit's portal (write) link.
    assert str(feed[uid_first]["URL"]) == f"{stack.settings.public_url}/portal"
    # The same event the notice's invite put in the unit's calendar.
    assert uid_first in invite_uids(stack, "unit-a@units.example")

    # unit-b reports in the first cycle: its feed keeps only the second deadline.
    await calls.update(
        stack.client, first.id, ReportingCycle.submit_report, SubmitReport(unit_id="unit-b", title="总结")
    )

    async def b_reported() -> dict[str, icalendar.Event] | None:
        found = await events(web, stack, "unit-b")
        return found if set(found) == {f"{second.id}/unit-b@duban"} else None

    assert await eventually(b_reported) is not None

    # unit-a asks for a week more and the office approves: same UID, new date, higher SEQUENCE.
    old_due = status.unit_due.at.astimezone(SHANGHAI).date()
    wanted = old_due + dt.timedelta(days=7)
    await calls.update(
        stack.client,
        first.id,
        ReportingCycle.request_extension,
        RequestExtension(unit_id="unit-a", reason="数据未齐", wanted=wanted),
    )
    await calls.update(
        stack.client,
        first.id,
        ReportingCycle.decide_extension,
        DecideExtension(unit_id="unit-a", approve=True, by="op"),
    )
    moved = await events(web, stack, "unit-a")
    assert set(moved) == {uid_first, uid_second}
    new_start = moved[uid_first].decoded("DTSTART").astimezone(SHANGHAI)
    assert new_start.date() == wanted and new_start.time() == dt.time(23, 59, 59)
    # SEQUENCE counts minutes (as in the mail invites): it never goes back, and grows from one minute to the next.
    assert int(moved[uid_first]["SEQUENCE"]) >= int(feed[uid_first]["SEQUENCE"])
    assert moved[uid_first].decoded("DTSTAMP") >= feed[uid_first].decoded("DTSTAMP")
    assert moved[uid_second].decoded("DTSTART") == feed[uid_second].decoded("DTSTART")


async def test_bad_tokens_show_nothing(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """A forged token, or a portal token used as a feed token, is refused."""
    assert (await web.get("/feed/not-a-token.ics")).status_code == 404
    portal = tokens(cycle_stack).portal_token("cycle:x:y:z:2026-Y", "unit-a")
    response = await web.get(f"/feed/{portal}.ics")
    assert response.status_code == 404 and "BEGIN:VCALENDAR" not in response.text


async def test_revoked_feed_link_is_refused_and_the_new_one_works(
    web: httpx.AsyncClient, cycle_stack: CycleStack
) -> None:
    """A revocation of the unit refuses every older feed link; the new link (and one made in the same second)
    shows the deadlines, and the new portal link opens."""
    stack = cycle_stack
    first = await stack.open_cycle("feed-revoke-first", due_days=10)
    second = await stack.open_cycle("feed-revoke-second", due_days=20)
    old, other_unit = (
        tokens(stack).feed_token("test-office", "unit-c"),
        tokens(stack).feed_token("test-office", "unit-a"),
    )
    assert (await web.get(f"/feed/{old}.ics")).status_code == 200

    revoked = links.revocations(stack.settings)
    fresh = await links.revoke(stack.client, tokens(stack), revoked, second.id, "unit-c", "订阅链接外泄", "张三")
    refused = await web.get(f"/feed/{old}.ics")
    assert refused.status_code == 404
    assert REVOKED in refused.text and "BEGIN:VCALENDAR" not in refused.text

    for token in (
        fresh.feed_link.rsplit("/feed/", 1)[1].removesuffix(".ics"),
        tokens(stack).feed_token("test-office", "unit-c"),
    ):
        response = await web.get(f"/feed/{token}.ics")
        assert response.status_code == 200, response.text
        found = {
            str(e["UID"]): e
            for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")
            if f":{stack.campaign}:" in str(e["UID"])
        }
        assert {f"{first.id}/unit-c@duban", f"{second.id}/unit-c@duban"} <= set(found)
    assert (await web.get("/portal/" + fresh.portal_link.rsplit("/portal/", 1)[1])).status_code == 200
    # Another unit's link, made before the revocation, is not affected.
    assert (await web.get(f"/feed/{other_unit}.ics")).status_code == 200


async def test_lead_deadlines_are_in_the_feed_and_follow_the_stage(
    web: httpx.AsyncClient, cycle_stack: CycleStack
) -> None:
    """A lead's receiver sees its sign-for limit, then the decision limit once it signed; never the lead's title."""
    stack = cycle_stack
    CampaignStore(stack.settings.campaign_dir).save(plan(1, campaign_id=stack.campaign, office_id="test-office"))
    lead_id = f"lead:{stack.campaign}:feed"
    inp = lead_input(dt.datetime.now(dt.UTC), lead_id=lead_id).model_copy(update={"campaign_id": stack.campaign})
    handle = await stack.client.start_workflow(
        LeadReferral.run, inp, id=lead_id, task_queue=stack.settings.temporal.task_queue
    )
    uid = f"{lead_id}/yaan-scj@duban"
    try:

        async def listed() -> icalendar.Event | None:
            return (await events(web, stack, "yaan-scj")).get(uid)

        sign = await eventually(listed)
        assert sign is not None, "the lead's deadline never reached the feed"
        status = await handle.query(LeadReferral.get_status, LeadStatusQuery())
        assert sign.decoded("dtstart") == status.stages[0].due
        assert "签收" in str(sign["SUMMARY"]) and inp.title not in sign.to_ical().decode()
        # The referrer has no open stage: nothing in its feed.
        assert uid.replace("yaan-scj", "yaan-hg") not in await events(web, stack, "yaan-hg")

        await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj"))

        async def moved_on() -> icalendar.Event | None:
            event = await listed()
            return event if event is not None and "审查决定" in str(event["SUMMARY"]) else None

        decide = await eventually(moved_on)
        assert decide is not None, "the event did not move on to the decision stage"
        assert decide.decoded("dtstart") > sign.decoded("dtstart")
        assert int(decide["SEQUENCE"]) >= int(sign["SEQUENCE"])
    finally:
        await handle.terminate("test over")
