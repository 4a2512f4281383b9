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
from console.auth import User
from console.web.context import ctx, form_csrf, page_operator, page_user
from console.web.lead_actions import LeadAction, act, involve, read_materials
from console.web.lead_views import lead_page_context, lead_plan
from console.web.pages import redirect

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
    return c.render(request, "lead.html", lead_url=lead_url(lead_id), **lead_page_context(lead, plan, user.may_act))


def _for(user: User, unit_id: str) -> str:
    """The timeline's `by`: the operator who acted, for which unit."""
    return f"{user.name}（代{unit_id}办理）"


@router.post("/leads/{lead_id}/actions", dependencies=[Depends(form_csrf)])
async def lead_action_form(
    request: Request,
    user: PageOperator,
    lead_id: str,
    unit_id: Annotated[str, Form()],
    action: Annotated[str, Form()],
    track: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    to: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    approve: Annotated[str, Form()] = "yes",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    """One action for `unit_id` on the lead: the lead's own Update; its receipt or refusal as the page's flash."""
    c = ctx(request)
    form = LeadAction(action=action, track=track or None, decision=decision, to=to, text=text, approve=approve == "yes")
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
