"""The unit portal: the link in each notice, no password — a signed token for one unit and one cycle.

Every read and write here takes the unit and the cycle from the token, never
from the request, so a token for unit A can neither show nor change unit B. A
token expires, and stops opening once the office revokes the unit's links.
"""

import contextlib
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from activities.portal_tokens import PortalGrant, TokenError, check_not_revoked
from console import client_calls as calls
from console import links
from console import submissions as subs
from console.web import downloads, lead_portal
from console.web.context import ctx, form_csrf
from console.web.pages import submit_for
from domain.cycle_words import zh_reason
from schemas.cycle import Receipt, RequestExtension, UnitView
from schemas.plan import ReportKind
from workflows.reporting_cycle import ReportingCycle

router = APIRouter(include_in_schema=False)


async def _open(request: Request, token: str) -> tuple[PortalGrant, UnitView] | Response:
    """The token's grant and the unit's view, or the page that says why the link does not open.

    Every route checks the link here before it reads or writes: a revoked link neither shows
    the page nor submits."""
    c = ctx(request)
    try:
        grant = c.tokens.read_portal(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"链接无效或已过期（{err}）")
    if not grant.cycle_id:
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效")
    view = await _view(request, grant)
    if isinstance(view, Response):
        return view
    try:
        check_not_revoked(
            grant, await links.valid_from(c.revocations, grant.cycle_id, grant.unit_id, view.state.links_valid_from)
        )
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"链接已被办公室撤销（{err}）")
    return grant, view


async def _view(request: Request, grant: PortalGrant) -> UnitView | Response:
    c = ctx(request)
    try:
        return await calls.unit_view(await c.client(), grant.cycle_id, grant.unit_id)
    except calls.Rejected:
        return c.render(request, "portal_error.html", status_code=404, reason="该报送事项已不存在")


def _render(
    request: Request,
    token: str,
    view: UnitView,
    status_code: int = 200,
    receipt: Receipt | None = None,
    error: str | None = None,
) -> Response:
    return ctx(request).render(
        request,
        "portal.html",
        status_code=status_code,
        view=view,
        token=token,
        receipt=receipt,
        error=error,
        kinds=list(ReportKind),
        user=None,
        file_base=f"/portal/{token}/files",
    )


async def _page(
    request: Request,
    token: str,
    grant: PortalGrant,
    status_code: int = 200,
    receipt: Receipt | None = None,
    error: str | None = None,
) -> Response:
    """The page as it is after a call (read again, so it shows what the call changed)."""
    view = await _view(request, grant)
    if isinstance(view, Response):
        return view
    return _render(request, token, view, status_code, receipt, error)


@router.get("/portal")
async def portal_door(request: Request) -> Response:
    """Where calendar entries point: no token here, so the unit is asked for the link of its own notice."""
    return ctx(request).render(
        request,
        "portal_error.html",
        status_code=200,
        reason="请打开办公室通知邮件中本单位的报送链接（日历中的条目不含报送链接）",
    )


@router.get("/portal/{token}")
async def portal(request: Request, token: str) -> Response:
    from console.web import info_pages

    info = info_pages.info_grant(request, token)
    if info is not None:  # a link from the information channel's mail (及时报送)
        return await info_pages.portal_page(request, token, info)
    with contextlib.suppress(TokenError):
        if lead_portal.is_lead_grant(ctx(request).tokens.read_portal(token)):
            # A case lead's link (the same signed token, bound to a lead instead of a cycle).
            return await lead_portal.show(request, token)
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    return _render(request, token, opened[1])


@router.get("/portal/{token}/files/{sha256}")
async def portal_file(request: Request, token: str, sha256: str) -> Response:
    """A file the unit itself submitted in this cycle (the token decides which unit and cycle)."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant, view = opened
    subs.logged(grant.unit_id, "unit", "file", grant.cycle_id, unit=grant.unit_id, sha256=sha256)
    return await downloads.file_response(request, view, sha256, "portal_error.html")


@router.post("/portal/{token}", dependencies=[Depends(form_csrf)])
async def portal_submit(
    request: Request,
    token: str,
    title: Annotated[str, Form()] = "",
    kind: Annotated[ReportKind, Form()] = ReportKind.SUMMARY,
    text: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant = opened[0]
    try:
        receipt = await submit_for(
            request, grant.cycle_id, grant.unit_id, title, kind, text, files or [], f"{grant.unit_id}（网上报送）"
        )
    except calls.Rejected as err:
        return await _page(request, token, grant, status_code=400, error=zh_reason(str(err)))
    return await _page(request, token, grant, receipt=receipt)


@router.post("/portal/{token}/extension", dependencies=[Depends(form_csrf)])
async def portal_extension(
    request: Request, token: str, wanted: Annotated[str, Form()], reason: Annotated[str, Form()]
) -> Response:
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant = opened[0]
    try:
        day = dt.date.fromisoformat(wanted)
        call = RequestExtension(unit_id=grant.unit_id, reason=reason, wanted=day, by=grant.unit_id)
        receipt = await calls.update(
            await ctx(request).client(), grant.cycle_id, ReportingCycle.request_extension, call
        )
    except ValueError as err:  # a bad date or a too-long reason (ValidationError is a ValueError)
        return await _page(request, token, grant, status_code=400, error=f"延期申请无效：{zh_reason(str(err))}")
    except calls.Rejected as err:
        return await _page(request, token, grant, status_code=400, error=zh_reason(str(err)))
    return await _page(request, token, grant, receipt=receipt)


@router.get("/portal/{token}/submissions/{receipt}/files/{n}")
async def portal_submission_file(
    request: Request, token: str, receipt: str, n: int, download: bool = False
) -> Response:
    """A unit reads back its own files: the unit comes from the token, so no receipt of another unit opens."""
    opened = await _open(request, token)
    if isinstance(opened, Response):
        return opened
    grant, view = opened
    sub = next((s for s in view.state.submissions if s.receipt_no == receipt), None)
    if sub is None:
        return ctx(request).render(request, "portal_error.html", status_code=404, reason="本单位没有这份报送材料")
    try:
        ref = subs.file_ref(sub, n)
        data = await subs.read_blob(ctx(request).settings, ref)
    except calls.NotFound as err:
        return ctx(request).render(request, "portal_error.html", status_code=404, reason=str(err))
    except subs.MissingFile:
        return ctx(request).render(
            request, "portal_error.html", status_code=500, reason="文件暂时无法读取，请联系办公室"
        )
    inline = subs.shows_inline(ref) and not download
    subs.logged(
        grant.unit_id, "unit", "file", grant.cycle_id, unit=grant.unit_id, receipt=receipt, n=n, sha256=ref.sha256
    )
    media_type = ref.media_type if inline else "application/octet-stream"
    return Response(data, media_type=media_type, headers=subs.file_headers(ref.name, inline))
