"""Operator pages for case leads: the list, one lead's stage diagram and clocks, and the office acting for a unit.

An operator acts for a unit through the same service as the unit's own portal link
(`lead_actions.act`, so the same Updates and validators); the timeline records the operator's
name and the unit it acted for. Leadership accounts see the page without the forms and are
refused (403) if they post one anyway.
"""

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from console import client_calls as calls
from console import links
from console.auth import User
from console.web.context import ctx, form_csrf, page_operator, page_user
from console.web.lead_actions import LeadAction, act, decide_extension, involve, lead_form, read_materials
from console.web.lead_views import lead_page_context, lead_plan
from console.web.pages import redirect, revoke_and_return

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]
PageOperator = Annotated[User, Depends(page_operator)]


def lead_url(lead_id: str) -> str:
    return f"/leads/{urllib.parse.quote(lead_id, safe='')}"


@router.get("/leads")
async def leads_page(request: Request, user: PageUser, campaign: str | None = None) -> Response:
    c = ctx(request)
    client = await c.client()
    leads = []
    for lead_id in await calls.list_leads(client, campaign or None, c.archive):
        try:
            leads.append(await calls.lead_status(client, lead_id, c.archive))
        except calls.Rejected:
            continue
    return c.render(request, "leads.html", leads=leads, campaign=campaign or "")


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, user: PageUser, lead_id: str) -> Response:
    c = ctx(request)
    lead = await calls.lead_status(await c.client(), lead_id, c.archive)
    plan = await lead_plan(c.records, lead_id)
    unit_links: dict[str, str] = {}
    if user.may_act and plan is not None and not lead.closed:
        # Made for the latest revocation, so a link shown after "revoke" is the one that opens.
        for uid in lead.units:
            since = await links.valid_from(c.revocations, lead_id, uid, lead.links_valid_from.get(uid), plan.office.id)
            unit_links[uid] = c.tokens.portal_link(lead_id, uid, not_before=since)
    return c.render(
        request,
        "lead.html",
        lead_url=lead_url(lead_id),
        unit_links=unit_links,
        **lead_page_context(lead, plan, user.may_act),
    )


def _for(user: User, unit_id: str) -> str:
    """The timeline's `by`: the operator who acted, for which unit."""
    return f"{user.name}（代{unit_id}办理）"


@router.post("/leads/{lead_id}/actions", dependencies=[Depends(form_csrf)])
async def lead_action_form(
    request: Request,
    user: PageOperator,
    lead_id: str,
    unit_id: Annotated[str, Form()],
    form: Annotated[LeadAction, Depends(lead_form)],
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    """One action for `unit_id` on the lead: the lead's own Update; its receipt or refusal as the page's flash."""
    c = ctx(request)
    try:
        plan = await lead_plan(c.records, lead_id)
        loaded = await read_materials(form, files, c.settings.max_upload_bytes)
        receipt = await act(await c.client(), c.settings, plan, lead_id, unit_id, _for(user, unit_id), form, loaded)
    except calls.Rejected as err:
        return redirect(lead_url(lead_id), f"操作未执行：{err}")
    return redirect(lead_url(lead_id), f"已完成：{receipt.message}")


@router.post("/leads/{lead_id}/involve", dependencies=[Depends(form_csrf)])
async def involve_form(
    request: Request,
    user: PageOperator,
    lead_id: str,
    unit_id: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """提前介入: the police or procuratorate joins the lead early."""
    c = ctx(request)
    try:
        plan = await lead_plan(c.records, lead_id)
        event = await involve(await c.client(), plan, lead_id, unit_id, note, _for(user, unit_id))
    except calls.Rejected as err:
        return redirect(lead_url(lead_id), f"操作未执行：{err}")
    return redirect(lead_url(lead_id), f"已记录提前介入：{event.detail}")


@router.post("/leads/{lead_id}/extension", dependencies=[Depends(form_csrf)])
async def extension_form(
    request: Request,
    user: PageOperator,
    lead_id: str,
    unit_id: Annotated[str, Form()],
    approve: Annotated[str, Form()],
    track: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    """The office grants (同意延期, the clock moves) or refuses (不予延期, with a reason) a unit's extension request."""
    c = ctx(request)
    form = LeadAction(
        action="extension", track=track or None, stage=stage, days=days, text=text, approve=approve == "yes"
    )
    try:
        receipt = await decide_extension(await c.client(), lead_id, unit_id, form, user.name)
    except calls.Rejected as err:
        return redirect(lead_url(lead_id), f"操作未执行：{err}")
    return redirect(lead_url(lead_id), f"已完成：{unit_id} {receipt.message}")


@router.post("/leads/{lead_id}/units/{unit_id}/links/revoke", dependencies=[Depends(form_csrf)])
async def revoke_links_form(
    request: Request, user: PageOperator, lead_id: str, unit_id: str, reason: Annotated[str, Form()] = ""
) -> Response:
    """Revoke the unit's links (this lead's and, through the access store, the office's others); the page then
    shows the new lead link to send."""
    plan = await lead_plan(ctx(request).records, lead_id)
    if plan is None:
        return redirect(lead_url(lead_id), "操作未执行：找不到该线索所属专项行动的计划")
    return await revoke_and_return(request, user, lead_id, unit_id, reason, lead_url(lead_id), plan.office.id)
