"""The JSON API under /api (OpenAPI at /openapi.json): the same reads and Updates as the pages and the CLI.

Sign in with `POST /login` (form) to get the session cookie; every POST here
also needs the `duban_csrf` cookie's value in the `X-CSRF-Token` header.
Errors: 400 rejected (with `detail`), 401 not signed in, 403 read-only or CSRF, 404 unknown.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from pydantic import BaseModel

from console import client_calls as calls
from console import links
from console.auth import User
from console.web.actions import CycleAction, CycleActionName, UnitAction, UnitActionName, cycle_action, unit_action
from console.web.context import api_operator, api_user, ctx, header_csrf
from console.web.pages import submit_for
from console.web.responses import ACT, LIST, READ
from schemas.cycle import ActionResult, CycleStatus, Receipt, UnitView
from schemas.plan import ReportKind

router = APIRouter(prefix="/api", tags=["api"])
ApiUser = Annotated[User, Depends(api_user)]
ApiOperator = Annotated[User, Depends(api_operator)]


class CycleItem(BaseModel):
    cycle_id: str
    campaign_id: str
    office_id: str
    period: str
    stage: str
    running: bool


@router.get("/cycles", response_model=list[CycleItem], responses=LIST)
async def cycles(request: Request, user: ApiUser, campaign: str | None = None, period: str | None = None) -> Any:
    c = ctx(request)
    refs = await calls.list_cycles(await c.client(), campaign, period, c.archive)
    return [
        CycleItem(
            cycle_id=r.cycle_id,
            campaign_id=r.campaign_id,
            office_id=r.office_id,
            period=r.period,
            stage=r.stage,
            running=r.running,
        )
        for r in refs
    ]


@router.get("/status", response_model=list[CycleStatus], responses=LIST)
async def status(request: Request, user: ApiUser, campaign: str | None = None, period: str | None = None) -> Any:
    c = ctx(request)
    client = await c.client()
    return await calls.statuses(client, await calls.list_cycles(client, campaign, period, c.archive), c.archive)


@router.get("/cycles/{cycle_id}", response_model=CycleStatus, responses=READ)
async def cycle(request: Request, user: ApiUser, cycle_id: str) -> Any:
    c = ctx(request)
    return await calls.cycle_status(await c.client(), cycle_id, c.archive)


@router.get("/cycles/{cycle_id}/units/{unit_id}", response_model=UnitView, responses=READ)
async def unit(request: Request, user: ApiUser, cycle_id: str, unit_id: str) -> Any:
    c = ctx(request)
    return await calls.unit_view(await c.client(), cycle_id, unit_id, c.archive)


@router.post(
    "/cycles/{cycle_id}/units/{unit_id}/submit",
    response_model=Receipt,
    responses=ACT,
    dependencies=[Depends(header_csrf)],
)
async def submit(
    request: Request,
    user: ApiOperator,
    cycle_id: str,
    unit_id: str,
    title: Annotated[str, Form()] = "",
    kind: Annotated[ReportKind, Form()] = ReportKind.SUMMARY,
    text: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Any:
    """Submit on behalf of a unit (multipart: title, kind, text, files)."""
    return await submit_for(request, cycle_id, unit_id, title, kind, text, files or [], user.name)


@router.post(
    "/cycles/{cycle_id}/units/{unit_id}/links/revoke",
    response_model=links.UnitLinks,
    responses=ACT,
    dependencies=[Depends(header_csrf)],
)
async def revoke_links(
    request: Request, user: ApiOperator, cycle_id: str, unit_id: str, body: links.LinkRevocation
) -> Any:
    """Revoke every link of the unit made so far (its portal links in the office, its feed); new links back."""
    c = ctx(request)
    return await links.revoke(await c.client(), c.tokens, c.revocations, cycle_id, unit_id, body.reason, user.name)


@router.post(
    "/cycles/{cycle_id}/units/{unit_id}/{action}",
    response_model=ActionResult,
    responses=ACT,
    dependencies=[Depends(header_csrf)],
)
async def act_on_unit(
    request: Request, user: ApiOperator, cycle_id: str, unit_id: str, action: UnitActionName, body: UnitAction
) -> Any:
    """extend (due), waive (reason), return (reason, due), approve [due] or refuse (reason) an extension request."""
    return await unit_action(await ctx(request).client(), cycle_id, unit_id, action, body, user.name)


@router.post(
    "/cycles/{cycle_id}/{action}", response_model=ActionResult, responses=ACT, dependencies=[Depends(header_csrf)]
)
async def act_on_cycle(
    request: Request, user: ApiOperator, cycle_id: str, action: CycleActionName, body: CycleAction
) -> Any:
    """forward the roll-up now, close the cycle, or recompute deadlines from the current holiday data."""
    c = ctx(request)
    return await cycle_action(await c.client(), cycle_id, action, body, user.name, c.settings.calendars_dir)


@router.get("/leads", responses=LIST)
async def leads(request: Request, user: ApiUser, campaign: str | None = None) -> list[str]:
    return await calls.list_leads(await ctx(request).client(), campaign)
