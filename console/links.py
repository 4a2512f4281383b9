"""A unit's links as the office hands them out: revoke the old ones and make new ones.

Shared by `duban link revoke|new`, the unit's page and the JSON API. Revoking
is the cycle's `revoke_links` Update (recorded in the unit's timeline with who
and when); the new links are made for the moment it returns, so they open even
when this machine's clock runs a little behind the Temporal server's.
"""

import datetime as dt

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.portal_tokens import PortalTokens, latest, office_of
from activities.records import Records
from console import client_calls as calls
from console.access_store import RevocationStore
from schemas.cycle import RevokeLinks
from schemas.lead import LeadStatusQuery
from workers.settings import Settings
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle


class LinkRevocation(BaseModel):
    """Why the unit's links are revoked (the API's request body; the form's field)."""

    reason: str = Field(default="", max_length=1000)


class UnitLinks(BaseModel):
    """Fresh links for one unit: its portal page in the cycle and its calendar feed."""

    cycle_id: str
    unit_id: str
    portal_link: str
    feed_link: str
    links_valid_from: dt.datetime | None = Field(
        default=None, description="links of this unit made before this moment are refused"
    )
    message: str = ""


def revocations(settings: Settings) -> RevocationStore:
    """The global, permanent record of revoked links (shared by the consoles and the CLI on one data directory)."""
    return RevocationStore(Records(settings.records_url_value()))


async def valid_from(
    revoked: RevocationStore, cycle_id: str, unit_id: str, in_cycle: dt.datetime | None, office: str = ""
) -> dt.datetime | None:
    """From when the unit's links count: the later of the cycle's revocation and the unit's global one.

    `office`: the office the workflow belongs to, when its id does not name one (a lead's id names its campaign)."""
    stored = await revoked.valid_from(office or office_of(cycle_id), unit_id)
    return latest(in_cycle, stored)


def _links(
    tokens: PortalTokens, cycle_id: str, unit_id: str, valid_from: dt.datetime | None, office: str = ""
) -> tuple[str, str]:
    portal = tokens.portal_link(cycle_id, unit_id, not_before=valid_from)
    return portal, tokens.feed_link(office or office_of(cycle_id), unit_id, not_before=valid_from)


async def _has_ended(client: Client, cycle_id: str) -> bool:
    try:
        desc = await client.get_workflow_handle(cycle_id).describe()
    except RPCError:
        return False
    return desc.status != WorkflowExecutionStatus.RUNNING


async def revoke(
    client: Client,
    tokens: PortalTokens,
    revoked: RevocationStore,
    cycle_id: str,
    unit_id: str,
    reason: str,
    by: str,
    office: str = "",
) -> UnitLinks:
    """Revoke every link of the unit made until now (all its cycles, channels and leads in this office, and its
    feed), make new ones. `cycle_id` is a cycle's, a channel's or a lead's id (each has a `revoke_links` Update).

    The workflow's Update records who, when and why on its timeline; the access store keeps the moment
    for the (office, unit) pair, so it holds for the unit's other workflows and after this one ends."""
    office = office or office_of(cycle_id)
    call = RevokeLinks(unit_id=unit_id, reason=reason, by=by)
    try:
        result = await calls.update(client, cycle_id, ReportingCycle.revoke_links, call)
    except calls.Rejected as err:
        if not await _has_ended(client, cycle_id):
            raise
        # Temporal takes no Update into a workflow that has ended, so there is nowhere to record it.
        raise calls.Rejected(
            f"{cycle_id} has ended, so no revocation can be recorded in it; its links show the unit's "
            "page read-only until they expire (DUBAN_PORTAL_TOKEN_DAYS); to cut off every link now, change "
            "DUBAN_SECRET_KEY (signs everyone out)"
        ) from err
    await revoked.revoke(office, unit_id, result.links_valid_from)
    since = await valid_from(revoked, cycle_id, unit_id, result.links_valid_from, office)
    portal, feed = _links(tokens, cycle_id, unit_id, since, office)
    return UnitLinks(
        cycle_id=cycle_id,
        unit_id=unit_id,
        portal_link=portal,
        feed_link=feed,
        links_valid_from=since,
        message=result.message,
    )


async def fresh(
    client: Client, tokens: PortalTokens, revoked: RevocationStore, cycle_id: str, unit_id: str
) -> UnitLinks:
    """New links for a unit of the cycle, revoking nothing (the unit must be one of the cycle's)."""
    # Asked of the board first: a failed query's reason reaches the client encrypted ("Encoded failure").
    status = await calls.cycle_status(client, cycle_id)
    if all(row.unit_id != unit_id for row in status.units):
        raise calls.Rejected(f"unknown unit {unit_id!r} in cycle {cycle_id}")
    view = await calls.unit_view(client, cycle_id, unit_id)
    since = await valid_from(revoked, cycle_id, unit_id, view.state.links_valid_from)
    portal, feed = _links(tokens, cycle_id, unit_id, since)
    return UnitLinks(cycle_id=cycle_id, unit_id=unit_id, portal_link=portal, feed_link=feed, links_valid_from=since)


async def for_lead(
    client: Client, tokens: PortalTokens, revoked: RevocationStore, lead_id: str, unit_id: str, office: str
) -> UnitLinks:
    """A new lead link for one of the lead's units (and its feed), revoking nothing: made for the latest
    revocation, so it opens after the office cut off the old ones."""
    status = await calls.query(client, lead_id, LeadReferral.get_status, LeadStatusQuery())
    if unit_id not in status.units:
        raise calls.Rejected(f"{unit_id} 不是线索 {lead_id} 的有关单位 (not a unit of this lead)")
    since = await valid_from(revoked, lead_id, unit_id, status.links_valid_from.get(unit_id), office)
    portal, feed = _links(tokens, lead_id, unit_id, since, office)
    return UnitLinks(cycle_id=lead_id, unit_id=unit_id, portal_link=portal, feed_link=feed, links_valid_from=since)
