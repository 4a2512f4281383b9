"""The unit portal: the link in each notice, no password — a signed, expiring token for one unit and one cycle.

Every read and write here takes the unit and the cycle from the token, never
from the request, so a token for unit A can neither show nor change unit B.
"""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from console import client_calls as calls
from console.tokens import PortalGrant, TokenError
from console.web.context import ctx, form_csrf
from console.web.pages import submit_for
from schemas.cycle import Receipt, RequestExtension
from schemas.plan import ReportKind

router = APIRouter(include_in_schema=False)


def _grant(request: Request, token: str) -> PortalGrant | Response:
    c = ctx(request)
    try:
        grant = c.tokens.read_portal(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"链接无效或已过期（{err}）")
    if not grant.cycle_id:
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效")
    return grant


async def _page(
    request: Request,
    token: str,
    grant: PortalGrant,
    status_code: int = 200,
    receipt: Receipt | None = None,
    error: str | None = None,
) -> Response:
    c = ctx(request)
    try:
        view = await calls.unit_view(await c.client(), grant.cycle_id, grant.unit_id)
    except calls.Rejected:
        return c.render(request, "portal_error.html", status_code=404, reason="该报送事项已不存在")
    return c.render(
        request,
        "portal.html",
        status_code=status_code,
        view=view,
        token=token,
        receipt=receipt,
        error=error,
        kinds=list(ReportKind),
        user=None,
    )


@router.get("/portal/{token}")
async def portal(request: Request, token: str) -> Response:
    grant = _grant(request, token)
    if isinstance(grant, Response):
        return grant
    return await _page(request, token, grant)


@router.post("/portal/{token}", dependencies=[Depends(form_csrf)])
async def portal_submit(
    request: Request,
    token: str,
    title: Annotated[str, Form()] = "",
    kind: Annotated[ReportKind, Form()] = ReportKind.SUMMARY,
    text: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    grant = _grant(request, token)
    if isinstance(grant, Response):
        return grant
    try:
        receipt = await submit_for(
            request, grant.cycle_id, grant.unit_id, title, kind, text, files or [], f"{grant.unit_id}（网上报送）"
        )
    except calls.Rejected as err:
        return await _page(request, token, grant, status_code=400, error=str(err))
    return await _page(request, token, grant, receipt=receipt)


@router.post("/portal/{token}/extension", dependencies=[Depends(form_csrf)])
async def portal_extension(
    request: Request, token: str, wanted: Annotated[str, Form()], reason: Annotated[str, Form()]
) -> Response:
    grant = _grant(request, token)
    if isinstance(grant, Response):
        return grant
    try:
        day = dt.date.fromisoformat(wanted)
        call = RequestExtension(unit_id=grant.unit_id, reason=reason, wanted=day, by=grant.unit_id)
        receipt = await calls.update(await ctx(request).client(), grant.cycle_id, "request_extension", call, Receipt)
    except ValueError as err:  # a bad date or a too-long reason (ValidationError is a ValueError)
        return await _page(request, token, grant, status_code=400, error=f"延期申请无效：{err}")
    except calls.Rejected as err:
        return await _page(request, token, grant, status_code=400, error=str(err))
    return await _page(request, token, grant, receipt=receipt)
