"""The lead portal: the link in each lead mail to a receiving agency — one lead, one unit, no password.

The same signed portal token as a unit's cycle link (`PortalTokens.portal_link(lead_id, unit)`),
so it expires like one; it stops opening once the office revokes the unit's links — in the lead
(`revoke_links`, on its timeline) or for the unit in the whole office (the access store). A
revoked link gets a page that says so, Chinese first, and whom to ask for a new one. The page shows the unit's clocks in
the lead and offers only what its open stages allow; every action is the lead's own Update
(validator, receipt), made with `by` naming the unit and the portal, so the lead's timeline says
who acted and when. The unit and the lead come from the token, never from the form.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from activities.portal_tokens import PortalGrant, TokenError, check_not_revoked, latest
from console import client_calls as calls
from console.web.context import ctx, form_csrf
from console.web.lead_actions import ACTIONS, EXTENSION, LeadAction, lead_form, read_materials
from console.web.lead_actions import act as act_on_lead
from console.web.lead_views import lead_plan, stage_due
from schemas.lead import LeadReceipt, LeadStatus, LeadStatusQuery
from schemas.plan import CampaignPlan
from workflows.lead_referral import LeadReferral

router = APIRouter(include_in_schema=False)


def is_lead_grant(grant: PortalGrant) -> bool:
    return grant.cycle_id.startswith("lead:")


def _contact(plan: CampaignPlan | None) -> str:
    """Whom a refused link sends the unit to: the office and its first staff member (phone if known)."""
    if plan is None:
        return ""
    staff = plan.office.staff[0] if plan.office.staff else None
    who = f"（{staff.name}{' ' + staff.phone if staff and staff.phone else ''}）" if staff else ""
    return f"{plan.office.name}{who}"


async def _open(request: Request, token: str) -> tuple[PortalGrant, LeadStatus, CampaignPlan | None] | Response:
    """The grant, the lead's state and its campaign's plan, or the page that says why the link does not open."""
    c = ctx(request)
    try:
        grant = c.tokens.read_portal(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效或已过期", detail=str(err))
    if not is_lead_grant(grant):
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效")
    plan = await lead_plan(c.records, grant.cycle_id)
    try:
        status = await calls.query(await c.client(), grant.cycle_id, LeadReferral.get_status, LeadStatusQuery())
    except (calls.Rejected, calls.CallFailed):
        return c.render(request, "portal_error.html", status_code=404, reason="该线索已不存在或已办结归档")
    # Revoked in the lead (its timeline says who and when) or for the unit in the whole office (the access store).
    stored = await c.revocations.valid_from(plan.office.id, grant.unit_id) if plan is not None else None
    try:
        check_not_revoked(grant, latest(status.links_valid_from.get(grant.unit_id), stored))
    except TokenError as err:
        return c.render(
            request,
            "portal_error.html",
            status_code=403,
            reason="此线索专用链接已被办公室撤销，不能再查看或办理该线索。",
            detail=str(err),
            contact=_contact(plan),
        )
    if grant.unit_id not in status.units:
        return c.render(request, "portal_error.html", status_code=403, reason="本单位与该线索无关")
    return grant, status, plan


def portal_page_context(unit_id: str, status: LeadStatus, plan: CampaignPlan | None, token: str) -> dict[str, Any]:
    """What lead_portal.html shows one unit: its clocks in the lead, a form per open stage, extension requests."""
    mine = [r for r in status.stages if r.unit == unit_id]
    units = plan.units if plan else []
    return {
        "lead": status,
        "unit_id": unit_id,
        "unit_name": next((u.name for u in units if u.id == unit_id), unit_id),
        "rows": [(r, stage_due(status, r)) for r in mine],
        "open_stages": [r for r in mine if r.done_at is None],
        "actions": ACTIONS,
        "extension": EXTENSION,
        "targets": [u for u in units if u.id not in (unit_id, status.referrer)],
        "token": token,
    }


def _render(
    request: Request,
    token: str,
    grant: PortalGrant,
    status: LeadStatus,
    plan: CampaignPlan | None,
    status_code: int = 200,
    receipt: LeadReceipt | None = None,
    error: str | None = None,
) -> Response:
    return ctx(request).render(
        request,
        "lead_portal.html",
        status_code=status_code,
        receipt=receipt,
        error=error,
        user=None,
        **portal_page_context(grant.unit_id, status, plan, token),
    )


async def show(request: Request, token: str) -> Response:
    """GET /portal/{token} for a lead token (the unit portal's route hands lead tokens over)."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    return _render(request, token, *opened)


@router.post("/portal/{token}/lead", dependencies=[Depends(form_csrf)])
async def act(
    request: Request,
    token: str,
    form: Annotated[LeadAction, Depends(lead_form)],
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    """One action of the unit on the lead: the matching Update, its receipt or its refusal on the page."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant, _, plan = opened
    c = ctx(request)
    by = f"{grant.unit_id}（线索专用链接）"
    try:
        loaded = await read_materials(form, files, c.settings.max_upload_bytes)
        receipt = await act_on_lead(await c.client(), c.settings, plan, grant.cycle_id, grant.unit_id, by, form, loaded)
    except calls.Rejected as err:
        return await _again(request, token, status_code=400, error=str(err))
    return await _again(request, token, receipt=receipt)


async def _again(
    request: Request,
    token: str,
    status_code: int = 200,
    receipt: LeadReceipt | None = None,
    error: str | None = None,
) -> Response:
    """The page as it is after the call (read again, so it shows what the call changed)."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    return _render(request, token, *opened, status_code=status_code, receipt=receipt, error=error)
