"""The lead portal: the link in each lead mail to a receiving agency — one lead, one unit, no password.

The same signed portal token as a unit's cycle link (`PortalTokens.portal_link(lead_id, unit)`),
so it expires like one; it stops opening once the office revokes the unit's links (the access
store, for the office whose campaign the lead belongs to). The page shows the unit's clocks in
the lead and offers only what its open stages allow; every action is the lead's own Update
(validator, receipt), made with `by` naming the unit and the portal, so the lead's timeline says
who acted and when. The unit and the lead come from the token, never from the form.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from activities.portal_tokens import PortalGrant, TokenError, check_not_revoked
from console import client_calls as calls
from console.campaign_store import CampaignNotFoundError, CampaignStore
from console.web.context import ctx, form_csrf
from console.web.pages import read_files
from schemas.blobs import BlobRef
from schemas.calendar import Due
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    Decision,
    GiveFeedback,
    HandOver,
    LeadReceipt,
    LeadStatus,
    LeadStatusQuery,
    LeadUnit,
    RequestReconsideration,
    SignFor,
    StageName,
    StageRecord,
    Transfer,
    campaign_of,
)
from schemas.plan import CampaignPlan
from workflows.lead_referral import LeadReferral

router = APIRouter(include_in_schema=False)

# What each open stage lets its unit do on the page (the form posts the action's name).
ACTIONS: dict[StageName, str] = {
    StageName.SIGN: "sign_for",
    StageName.DECIDE: "decide",
    StageName.FEEDBACK: "feedback",
    StageName.CLOSE: "close",
    StageName.APPROVE: "approve",
    StageName.TRANSFER: "transfer",
    StageName.FILE: "decide",
    StageName.RECONSIDER_REQUEST: "reconsider",
    StageName.RECONSIDER: "decide",
    StageName.HANDOVER: "hand_over",
}


def is_lead_grant(grant: PortalGrant) -> bool:
    return grant.cycle_id.startswith("lead:")


def _plan(request: Request, lead_id: str) -> CampaignPlan | None:
    try:
        return CampaignStore(ctx(request).settings.campaign_dir).load(campaign_of(lead_id))
    except (CampaignNotFoundError, ValueError):
        return None


async def _open(request: Request, token: str) -> tuple[PortalGrant, LeadStatus, CampaignPlan | None] | Response:
    """The grant, the lead's state and its campaign's plan, or the page that says why the link does not open."""
    c = ctx(request)
    try:
        grant = c.tokens.read_portal(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"链接无效或已过期（{err}）")
    if not is_lead_grant(grant):
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效")
    plan = await asyncio.to_thread(_plan, request, grant.cycle_id)
    if plan is not None:
        stored = await asyncio.to_thread(c.revocations.valid_from, plan.office.id, grant.unit_id)
        try:
            check_not_revoked(grant, stored)
        except TokenError as err:
            return c.render(request, "portal_error.html", status_code=403, reason=f"链接已被办公室撤销（{err}）")
    try:
        status = await calls.query(await c.client(), grant.cycle_id, LeadReferral.get_status, LeadStatusQuery())
    except (calls.Rejected, calls.CallFailed):
        return c.render(request, "portal_error.html", status_code=404, reason="该线索已不存在或已办结归档")
    if grant.unit_id not in status.units:
        return c.render(request, "portal_error.html", status_code=403, reason="本单位与该线索无关")
    return grant, status, plan


def _due(status: LeadStatus, record: StageRecord) -> Due:
    return Due(
        at=record.due, tz=status.tz, provisional=record.provisional, rule=record.due_rule, rule_zh=record.due_rule_zh
    )


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
    mine = [r for r in status.stages if r.unit == grant.unit_id]
    open_ = [r for r in mine if r.done_at is None]
    targets = [u for u in (plan.units if plan else []) if u.id not in (grant.unit_id, status.referrer)]
    return ctx(request).render(
        request,
        "lead_portal.html",
        status_code=status_code,
        lead=status,
        unit_id=grant.unit_id,
        unit_name=next((u.name for u in (plan.units if plan else []) if u.id == grant.unit_id), grant.unit_id),
        rows=[(r, _due(status, r)) for r in mine],
        open_stages=open_,
        actions=ACTIONS,
        targets=targets,
        token=token,
        receipt=receipt,
        error=error,
        user=None,
    )


async def show(request: Request, token: str) -> Response:
    """GET /portal/{token} for a lead token (the unit portal's route hands lead tokens over)."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    return _render(request, token, *opened)


def _target(plan: CampaignPlan | None, unit_id: str) -> LeadUnit:
    found = plan.unit(unit_id) if plan else None
    if found is None:
        raise ValueError(f"本专项行动没有单位 {unit_id!r}")
    return LeadUnit(id=found.id, name=found.name, contacts=found.contacts, leader=found.leader)


@router.post("/portal/{token}/lead", dependencies=[Depends(form_csrf)])
async def act(
    request: Request,
    token: str,
    action: Annotated[str, Form()],
    track: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    to: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    approve: Annotated[str, Form()] = "yes",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    """One action of the unit on the lead: the matching Update, its receipt or its refusal on the page."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant, _, plan = opened
    c = ctx(request)
    settings = c.settings
    common = {"unit_id": grant.unit_id, "by": f"{grant.unit_id}（线索专用链接）", "track": track or None}
    created: list[BlobRef] = []
    try:
        if action == "sign_for":
            receipt = await _update(request, grant, LeadReferral.sign_for, SignFor(**common))
        elif action == "decide":
            chosen = Decision(decision)
            target = _target(plan, to) if chosen in (Decision.TRANSFER, Decision.POLICE) else None
            call = Decide(**common, decision=chosen, reason=text, to=target)
            receipt = await _update(request, grant, LeadReferral.decide, call)
        elif action == "feedback":
            receipt = await _update(request, grant, LeadReferral.give_feedback, GiveFeedback(**common, text=text))
        elif action == "close":
            receipt = await _update(request, grant, LeadReferral.close, CloseLead(**common, result=text))
        elif action == "approve":
            call_a = Approve(**common, approve=approve == "yes", reason=text)
            receipt = await _update(request, grant, LeadReferral.approve_transfer, call_a)
        elif action == "reconsider":
            call_r = RequestReconsideration(**common, reason=text)
            receipt = await _update(request, grant, LeadReferral.request_reconsideration, call_r)
        elif action in ("transfer", "hand_over"):
            loaded = await read_files(files or [], settings.max_upload_bytes)
            # Stored before the Update so the lead refers to blobs that exist; swept again if it is refused.
            materials = await calls.store_uploads(settings, loaded, created)
            if action == "transfer":
                call_t = Transfer(**common, note=text, materials=materials)
                receipt = await _update(request, grant, LeadReferral.transfer, call_t)
            else:
                call_h = HandOver(**common, note=text, materials=materials)
                receipt = await _update(request, grant, LeadReferral.hand_over, call_h)
        else:
            raise ValueError(f"未知操作 {action!r}")
    except (ValueError, ValidationError, calls.Rejected) as err:
        await calls.sweep(settings, created)
        message = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
        return await _again(request, token, status_code=400, error=message)
    return await _again(request, token, receipt=receipt)


async def _update(request: Request, grant: PortalGrant, method, call) -> LeadReceipt:  # type: ignore[no-untyped-def]
    result: LeadReceipt = await calls.update(await ctx(request).client(), grant.cycle_id, method, call)
    return result


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
