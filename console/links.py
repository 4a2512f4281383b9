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

from activities.portal_tokens import PortalTokens
from console import client_calls as calls
from schemas.cycle import RevokeLinks
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


def _links(tokens: PortalTokens, cycle_id: str, unit_id: str, valid_from: dt.datetime | None) -> tuple[str, str]:
    portal = tokens.portal_link(cycle_id, unit_id, not_before=valid_from)
    return portal, tokens.feed_link(unit_id, not_before=valid_from)


async def _has_ended(client: Client, cycle_id: str) -> bool:
    try:
        desc = await client.get_workflow_handle(cycle_id).describe()
    except RPCError:
        return False
    return desc.status != WorkflowExecutionStatus.RUNNING


async def revoke(client: Client, tokens: PortalTokens, cycle_id: str, unit_id: str, reason: str, by: str) -> UnitLinks:
    """Revoke the unit's links to this cycle made until now, and make new ones."""
    call = RevokeLinks(unit_id=unit_id, reason=reason, by=by)
    try:
        result = await calls.update(client, cycle_id, ReportingCycle.revoke_links, call)
    except calls.Rejected as err:
        if not await _has_ended(client, cycle_id):
            raise
        # Temporal takes no Update into a workflow that has ended, so there is nowhere to record it.
        raise calls.Rejected(
            f"cycle {cycle_id} has ended, so no revocation can be recorded in it; its links show the unit's "
            "page read-only until they expire (DUBAN_PORTAL_TOKEN_DAYS); to cut off every link now, change "
            "DUBAN_SECRET_KEY (signs everyone out)"
        ) from err
    portal, feed = _links(tokens, cycle_id, unit_id, result.links_valid_from)
    return UnitLinks(
        cycle_id=cycle_id,
        unit_id=unit_id,
        portal_link=portal,
        feed_link=feed,
        links_valid_from=result.links_valid_from,
        message=result.message,
    )


async def fresh(client: Client, tokens: PortalTokens, cycle_id: str, unit_id: str) -> UnitLinks:
    """New links for a unit of the cycle, revoking nothing (the unit must be one of the cycle's)."""
    # Asked of the board first: a failed query's reason reaches the client encrypted ("Encoded failure").
    status = await calls.cycle_status(client, cycle_id)
    if all(row.unit_id != unit_id for row in status.units):
        raise calls.Rejected(f"unknown unit {unit_id!r} in cycle {cycle_id}")
    view = await calls.unit_view(client, cycle_id, unit_id)
    valid_from = view.state.links_valid_from
    portal, feed = _links(tokens, cycle_id, unit_id, valid_from)
    return UnitLinks(
        cycle_id=cycle_id, unit_id=unit_id, portal_link=portal, feed_link=feed, links_valid_from=valid_from
    )
