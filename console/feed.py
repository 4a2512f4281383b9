"""The unit's calendar feed: `GET /feed/{token}.ics`, a subscribable iCalendar of its open deadlines.

The link comes in every notice (`PortalTokens.feed_link`); the token names one
office and one unit of it, and grants reading only: the events point at the
console's door (`/portal`), never at the unit's portal link, because feed URLs
get pasted into third-party calendar services. A deadline is open while the unit has not reported
(it is in the cycle's `DubanPendingUnits`), so a report removes the event and
an extension or a recomputed deadline moves it: each event keeps the UID the
mail invites use (`activities.invites.invite_uid`: `<cycle id>/<unit id>@duban`),
and its SEQUENCE and DTSTAMP follow the moment the deadline was last set, so
calendar clients replace the event instead of adding a second one.

Case leads are in the feed too: one event per (lead, unit) at the unit's earliest open
stage of a running lead of one of the office's campaigns, with the UID the mail invites
use (`<lead id>/<unit id>@duban`), so a signed-for lead's event moves on to the next
stage's limit and an ended lead's disappears. The summary names the stage and the lead's
id, never its title: lead content stays off third-party calendar services.

A feed link made before the office revoked the unit's links is refused, as an
expired one is — whether or not the cycle of the revocation is still in the
feed (the access store keeps it for the (office, unit) pair).
"""

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from icalendar import Calendar
from temporalio.client import Client
from temporalio.service import RPCError

from activities.invites import PRODID, deadline_invite
from activities.portal_tokens import PortalTokens, TokenError, check_not_revoked, latest
from activities.records import Records
from console import client_calls as calls
from console.access_store import RevocationStore
from console.campaign_store import CampaignStore
from domain.lead_wording import stage_zh
from domain.legaltime.wording import zh_period
from schemas.calendar import Due
from schemas.cycle import UnitPhase, UnitView
from schemas.lead import LeadStatus, LeadStatusQuery, StageRecord, campaign_of
from schemas.notify import MessageContext
from schemas.people import ID_PATTERN
from schemas.visibility import OFFICE, PENDING_UNITS, UNITS
from workers.settings import Settings
from workflows.lead_referral import LeadReferral

ClientFactory = Callable[[], Awaitable[Client]]
# How often subscribed clients should come back (RFC 7986 REFRESH-INTERVAL; Outlook's X-PUBLISHED-TTL).
REFRESH = "PT1H"


async def open_deadlines(client: Client, office_id: str, unit_id: str) -> list[UnitView]:
    """The unit's view in every running cycle of its office where it still owes a report, earliest deadline first."""
    for value in (office_id, unit_id):
        if not re.fullmatch(ID_PATTERN, value):
            raise calls.Rejected(f"invalid id {value!r}")
    query = (
        f"WorkflowType = '{calls.CYCLE_TYPE}' AND ExecutionStatus = 'Running' AND {OFFICE.name} = '{office_id}' "
        f"AND {PENDING_UNITS.name} = '{unit_id}'"
    )
    gate = asyncio.Semaphore(8)

    async def view_in(cycle_id: str) -> UnitView | None:
        async with gate:
            try:
                return await calls.unit_view(client, cycle_id, unit_id)
            except (calls.Rejected, RPCError):
                # Closed since it was listed, or not answering (no worker): one cycle that cannot
                # answer must not take the unit's whole calendar down; the others are still shown.
                return None

    ids = [wf.id async for wf in client.list_workflows(query)]
    found = await asyncio.gather(*(view_in(i) for i in ids))
    views = [v for v in found if v is not None and v.state.phase in (UnitPhase.PENDING, UnitPhase.RETURNED)]
    return sorted(views, key=lambda v: (v.state.due.at, v.cycle_id))


async def office_campaigns(store: CampaignStore, office_id: str) -> set[str]:
    """The started campaigns the office runs (a lead belongs to its campaign's office)."""
    found = set()
    for campaign_id in await store.ids():
        try:
            if (await store.load(campaign_id)).office.id == office_id:
                found.add(campaign_id)
        except (OSError, ValueError):
            continue  # an unreadable plan must not take the unit's calendar down
    return found


LeadDeadline = tuple[LeadStatus, StageRecord]


async def open_lead_stages(client: Client, campaigns: set[str], unit_id: str) -> list[LeadDeadline]:
    """The unit's earliest open stage in each running lead of those campaigns, earliest first."""
    if not re.fullmatch(ID_PATTERN, unit_id):
        raise calls.Rejected(f"invalid id {unit_id!r}")
    query = f"WorkflowType = '{calls.LEAD_TYPE}' AND ExecutionStatus = 'Running' AND {UNITS.name} = '{unit_id}'"
    gate = asyncio.Semaphore(8)

    def ours(lead_id: str) -> bool:
        try:
            return campaign_of(lead_id) in campaigns
        except ValueError:
            return False

    async def stage_of(lead_id: str) -> LeadDeadline | None:
        async with gate:
            try:
                status = await calls.query(client, lead_id, LeadReferral.get_status, LeadStatusQuery())
            except (calls.CallFailed, calls.Rejected, RPCError):
                return None  # ended since it was listed, or not answering: the rest of the feed still shows
        mine = [r for r in status.stages if r.done_at is None and r.unit == unit_id]
        return (status, min(mine, key=lambda r: r.due)) if mine else None

    ids = [wf.id async for wf in client.list_workflows(query) if ours(wf.id)]
    found = [f for f in await asyncio.gather(*(stage_of(i) for i in ids)) if f is not None]
    return sorted(found, key=lambda f: (f[1].due, f[0].lead_id))


def _lead_set_at(status: LeadStatus, record: StageRecord) -> dt.datetime:
    """When the stage's limit was last set: when it opened, or when new holiday data moved it."""
    moved = [e.at for e in status.timeline if e.what == "deadline_moved" and e.track == record.track]
    return max([record.started_at, *moved])


def _set_at(view: UnitView) -> dt.datetime:
    """When the current deadline was set: on a move, or at the notice that opened the cycle."""
    if view.state.due_set_at is not None:
        return view.state.due_set_at
    notice = next((e.at for e in view.state.timeline if e.what == "notice"), None)
    return notice or view.row.due.at


def feed_calendar(
    unit_id: str, views: list[UnitView], tokens: PortalTokens, leads: list[LeadDeadline] | None = None
) -> bytes:
    """One VCALENDAR, one VEVENT (with its VALARM) per open deadline, built by the mail invites' builder."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = views[0].unit.name if views else unit_id
    cal.add("x-wr-calname", f"督办截止日期 — {name}")
    cal.add("x-wr-timezone", views[0].state.due.tz if views else "Asia/Shanghai")
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    for view in views:
        context = MessageContext(
            cycle_id=view.cycle_id,
            unit_id=unit_id,
            unit_name=view.unit.name,
            period=view.period,
            obligation_title=view.obligation_title,
        )
        summary = f"【截止】{view.obligation_title}（{zh_period(view.period)}） — {view.unit.name}"
        ics = deadline_invite(
            context,
            view.state.due,
            stamp=_set_at(view),
            summary=summary,
            url=tokens.console_link,
        )
        for event in Calendar.from_ical(ics).walk("VEVENT"):
            cal.add_component(event)
    for status, record in leads or []:
        due = Due(
            at=record.due,
            tz=status.tz,
            provisional=record.provisional,
            rule=record.due_rule,
            rule_zh=record.due_rule_zh,
        )
        context = MessageContext(lead_id=status.lead_id, unit_id=unit_id, stage=record.name.value)
        summary = f"【线索·{stage_zh(record.name)}截止】{status.lead_id}"
        ics = deadline_invite(
            context, due, stamp=_lead_set_at(status, record), summary=summary, url=tokens.console_link
        )
        for event in Calendar.from_ical(ics).walk("VEVENT"):
            cal.add_component(event)
    return bytes(cal.to_ical())


def feed_router(settings: Settings, client_factory: ClientFactory) -> APIRouter:
    """The feed route; `client_factory` hands out the console's (lazily connected) Temporal client."""
    tokens = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    records = Records(settings.records_url_value())
    revocations = RevocationStore(records)
    campaigns = CampaignStore(records)
    router = APIRouter(include_in_schema=False)

    @router.get("/feed/{token}.ics")
    async def feed(token: str) -> Response:
        try:
            grant = tokens.read_feed(token)
        except TokenError as err:
            return PlainTextResponse(str(err), status_code=404)
        # The unit's global revocation is checked first: a refused link costs no Temporal call.
        stored = await revocations.valid_from(grant.office_id, grant.unit_id)
        try:
            check_not_revoked(grant, stored)
        except TokenError as err:
            return PlainTextResponse(str(err), status_code=404)
        client = await client_factory()
        views = await open_deadlines(client, grant.office_id, grant.unit_id)
        # Revocations recorded only in a cycle (before the access store kept them) still count.
        revoked = latest(*(v.state.links_valid_from for v in views))
        try:
            check_not_revoked(grant, revoked)
        except TokenError as err:
            return PlainTextResponse(str(err), status_code=404)
        ours = await office_campaigns(campaigns, grant.office_id)
        leads = await open_lead_stages(client, ours, grant.unit_id) if ours else []
        return Response(
            feed_calendar(grant.unit_id, views, tokens, leads),
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, no-cache", "Content-Disposition": 'inline; filename="duban.ics"'},
        )

    return router
