"""Information reports (及时报送) in the web console: the office's review pages, the scores, the unit's portal.

Operators review items (采用 / 退回 / 存档), send adopted ones up before their
limit and see what still waits to go up; the scores page has the table, a chart
and the 通报 as .docx. A unit reaches its own items through the signed link in
the channel's mail (a portal token bound to the unit and the channel): every
read and write takes the unit and the channel from the token, never the request.
"""

import datetime as dt
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from temporalio.client import Client
from temporalio.service import RPCError

from activities.blobs import BlobNotFoundError
from activities.portal_tokens import PortalGrant, TokenError, check_not_revoked
from console import client_calls as calls
from console import info_calls, links
from console.auth import User
from console.web import charts
from console.web.context import ctx, form_csrf, page_operator, page_user
from console.web.downloads import verified_file
from console.web.pages import read_files, redirect, revoke_and_return
from domain.info_book import STATE_ZH
from schemas.info import Decision, InfoBoard, InfoItem, InfoReceipt, ItemsView, split_item_id
from schemas.info_plan import INFO_KIND_ZH, InfoKind, parse_kind
from workers.objects import blob_store

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]
PageOperator = Annotated[User, Depends(page_operator)]
# Enough of an item's text to review it on the page; the whole text is one click away.
PREVIEW_CHARS = 2000
DECISION_WORDS = {"adopt": Decision.ADOPT, "return": Decision.RETURN, "file": Decision.FILE}


def channel_url(channel_id: str, tail: str = "") -> str:
    return f"/info/{urllib.parse.quote(channel_id, safe='')}{tail}"


def _globals(request: Request) -> dict[str, Any]:
    return {"INFO_KIND_ZH": INFO_KIND_ZH, "STATE_ZH": STATE_ZH, "channel_url": channel_url}


async def _preview(request: Request, item: InfoItem) -> str:
    if item.body is None:
        return ""
    try:
        data = await blob_store(ctx(request).settings).get(item.body)
    except BlobNotFoundError:
        return "（正文缺失）"
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "……"


def _kind(text: str) -> InfoKind:
    try:
        return parse_kind(text)
    except ValueError as err:
        raise calls.Rejected(str(err)) from err


# ---- operators -----------------------------------------------------------------------------------


async def info_boards(client: Client, campaign: str | None, running: bool = True) -> list[InfoBoard]:
    """Each channel's board (what waits for review, what waits to go up); one that cannot answer is left out."""
    boards = []
    for channel_id in await info_calls.list_channels(client, campaign, running=running):
        try:
            boards.append(await info_calls.board(client, channel_id))
        except (calls.Rejected, RPCError):
            continue
    return boards


@router.get("/info")
async def channels_page(request: Request, user: PageUser, campaign: str | None = None) -> Response:
    c = ctx(request)
    boards = await info_boards(await c.client(), campaign or None, running=False)
    return c.render(request, "info_channels.html", boards=boards, campaign=campaign or "", **_globals(request))


@router.get("/info/{channel_id}")
async def channel_page(request: Request, user: PageUser, channel_id: str, unit: str = "", state: str = "") -> Response:
    c = ctx(request)
    client = await c.client()
    found = await info_calls.view(client, channel_id)
    board = await info_calls.board(client, channel_id)
    wanted = next((s for s in STATE_ZH if s == state), None)
    listed = await info_calls.every_item(c.settings, found, unit or None, None if wanted is None else wanted)  # type: ignore[arg-type]
    pending = sorted((i for i in found.items if i.state.value == "pending"), key=lambda i: i.no)
    # Each unit's current link, for operators only (leadership looks, it does not hand out access).
    unit_links = (
        {
            uid: c.tokens.portal_link(channel_id, uid, not_before=await _since(request, channel_id, uid, found))
            for uid in found.units
        }
        if user.may_act
        else {}
    )
    return c.render(
        request,
        "info_channel.html",
        view=found,
        board=board,
        pending=pending,
        previews={i.no: await _preview(request, i) for i in pending},
        listed=listed[:300],
        unit=unit,
        state=wanted or "",
        period=info_calls.current_quarter(dt.datetime.now(dt.UTC)),
        unit_links=unit_links,
        **_globals(request),
    )


@router.post("/info/{channel_id}/units/{unit_id}/links/revoke", dependencies=[Depends(form_csrf)])
async def revoke_links_form(
    request: Request, user: PageOperator, channel_id: str, unit_id: str, reason: Annotated[str, Form()] = ""
) -> Response:
    """Revoke the unit's links to the channel; the page then lists its new link to send."""
    return await revoke_and_return(request, user, channel_id, unit_id, reason, channel_url(channel_id))


@router.post("/info/{channel_id}/items/{no}/forward", dependencies=[Depends(form_csrf)])
async def forward_form(request: Request, user: PageOperator, channel_id: str, no: int) -> Response:
    c = ctx(request)
    item = _item_id(channel_id, no)
    try:
        result = await info_calls.forward(await c.client(), item, user.name)
    except calls.Rejected as err:
        return redirect(channel_url(channel_id), f"操作未执行：{err}")
    return redirect(channel_url(channel_id), f"已完成：{result.message}")


@router.post("/info/{channel_id}/items/{no}/{action}", dependencies=[Depends(form_csrf)])
async def decide_form(
    request: Request, user: PageOperator, channel_id: str, no: int, action: str, note: Annotated[str, Form()] = ""
) -> Response:
    c = ctx(request)
    decision = DECISION_WORDS.get(action)
    if decision is None:
        raise HTTPException(404, f"no action {action!r}")
    try:
        result = await info_calls.decide(await c.client(), _item_id(channel_id, no), decision, note, user.name)
    except calls.Rejected as err:
        return redirect(channel_url(channel_id), f"操作未执行：{err}")
    return redirect(channel_url(channel_id), f"已完成：{result.message}")


@router.post("/info/{channel_id}/submit", dependencies=[Depends(form_csrf)])
async def submit_form(
    request: Request,
    user: PageOperator,
    channel_id: str,
    unit: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    work_area: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    ctx(request)
    try:
        receipt = await _submit(
            request, channel_id, unit, kind, title, text, work_area, files or [], None, f"{user.name}（代报）"
        )
    except calls.Rejected as err:
        return redirect(channel_url(channel_id), f"未报送：{err}")
    return redirect(channel_url(channel_id), f"已代为报送，编号 {receipt.item_id}")


@router.get("/info/{channel_id}/items/{no}/files/{index}")
async def item_file(request: Request, user: PageUser, channel_id: str, no: int, index: int) -> Response:
    c = ctx(request)
    found = await info_calls.view(await c.client(), channel_id)
    return await _file(request, found, no, index)


@router.get("/info/{channel_id}/stats")
async def stats_page(request: Request, user: PageUser, channel_id: str, period: str = "") -> Response:
    c = ctx(request)
    period = period or info_calls.current_quarter(dt.datetime.now(dt.UTC))
    found = await info_calls.stats(await c.client(), channel_id, period)
    chart = charts.adoption_chart(found.rows)
    return c.render(request, "info_stats.html", stats=found, chart=chart, **_globals(request))


@router.get("/info/{channel_id}/stats.docx")
async def stats_docx(request: Request, user: PageUser, channel_id: str, period: str) -> Response:
    from activities.documents import DOCX_TYPE, info_bulletin_docx, info_bulletin_filename

    c = ctx(request)
    found = await info_calls.stats(await c.client(), channel_id, period)
    filename = urllib.parse.quote(info_bulletin_filename(found))
    return Response(
        info_bulletin_docx(found),
        media_type=DOCX_TYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


# ---- the unit's portal ---------------------------------------------------------------------------


def info_grant(request: Request, token: str) -> PortalGrant | None:
    """The grant of a portal token made for an information channel, or None (another kind of link)."""
    try:
        grant = ctx(request).tokens.read_portal(token)
    except TokenError:
        return None
    return grant if grant.cycle_id.startswith("info:") else None


async def _unit_view(client: Client, grant: PortalGrant) -> ItemsView | None:
    try:
        found = await info_calls.view(client, grant.cycle_id, grant.unit_id)
    except calls.Rejected:
        return None
    return found if grant.unit_id in found.units else None


async def _since(request: Request, channel_id: str, unit_id: str, found: ItemsView) -> dt.datetime | None:
    """From when the unit's links count: the later of the channel's revocation and the office-wide one."""
    activity = found.activity.get(unit_id)
    in_channel = activity.links_valid_from if activity else None
    return await links.valid_from(ctx(request).revocations, channel_id, unit_id, in_channel)


async def _revoked(request: Request, grant: PortalGrant, found: ItemsView) -> str | None:
    """Why the link no longer opens, when the office revoked the unit's links after it was made."""
    try:
        check_not_revoked(grant, await _since(request, grant.cycle_id, grant.unit_id, found))
    except TokenError as err:
        return f"链接已被办公室撤销（{err}）"
    return None


async def portal_page(
    request: Request,
    token: str,
    grant: PortalGrant,
    status_code: int = 200,
    receipt: InfoReceipt | None = None,
    error: str | None = None,
) -> Response:
    c = ctx(request)
    found = await _unit_view(await c.client(), grant)
    if found is None:
        return c.render(request, "portal_error.html", status_code=404, reason="该信息报送渠道已不存在", user=None)
    refused = await _revoked(request, grant, found)
    if refused is not None:
        return c.render(request, "portal_error.html", status_code=403, reason=refused, user=None)
    mine = await info_calls.every_item(c.settings, found, grant.unit_id)
    return c.render(
        request,
        "info_portal.html",
        status_code=status_code,
        view=found,
        unit_name=found.units[grant.unit_id],
        items=mine,
        token=token,
        receipt=receipt,
        error=error,
        user=None,
        **_globals(request),
    )


@router.post("/portal/{token}/info", dependencies=[Depends(form_csrf)])
async def portal_submit(
    request: Request,
    token: str,
    kind: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    work_area: Annotated[str, Form()] = "",
    resubmit: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    c = ctx(request)
    grant = info_grant(request, token)
    found = await _unit_view(await c.client(), grant) if grant else None
    if grant is None or found is None:
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效或已过期", user=None)
    refused = await _revoked(request, grant, found)
    if refused is not None:
        return c.render(request, "portal_error.html", status_code=403, reason=refused, user=None)
    try:
        again = int(resubmit) if resubmit.strip() else None
        receipt = await _submit(
            request,
            grant.cycle_id,
            grant.unit_id,
            kind,
            title,
            text,
            work_area,
            files or [],
            again,
            f"{grant.unit_id}（网上报送）",
        )
    except ValueError:
        return await portal_page(request, token, grant, status_code=400, error=f"无效的信息编号 {resubmit!r}")
    except calls.Rejected as err:
        return await portal_page(request, token, grant, status_code=400, error=str(err))
    return await portal_page(request, token, grant, receipt=receipt)


@router.get("/portal/{token}/info/items/{no}/files/{index}")
async def portal_file(request: Request, token: str, no: int, index: int) -> Response:
    c = ctx(request)
    grant = info_grant(request, token)
    found = await _unit_view(await c.client(), grant) if grant else None
    if grant is None or found is None or await _revoked(request, grant, found) is not None:
        return c.render(request, "portal_error.html", status_code=403, reason="链接无效、已过期或已撤销", user=None)
    return await _file(request, found, no, index, unit_id=grant.unit_id)


# ---- shared ----------------------------------------------------------------------------------------


def _item_id(channel_id: str, no: int) -> str:
    ident = f"{channel_id.removeprefix('info:')}:{no}"
    split_item_id(ident)  # the same check the CLI makes
    return ident


async def _submit(
    request: Request,
    channel_id: str,
    unit_id: str,
    kind: str,
    title: str,
    text: str,
    work_area: str,
    files: list[UploadFile],
    resubmit_of: int | None,
    by: str,
) -> InfoReceipt:
    c = ctx(request)
    loaded = await read_files(files, c.settings.max_upload_bytes)
    title = title.strip() or (loaded[0][0].rsplit(".", 1)[0] if loaded else "")
    if not title:
        raise calls.Rejected("请填写标题 (an item needs a title)")
    return await info_calls.submit(
        await c.client(),
        c.settings,
        channel_id,
        unit_id=unit_id,
        kind=_kind(kind),
        title=title,
        text=text,
        files=loaded,
        by=by,
        work_area=work_area,
        resubmit_of=resubmit_of,
    )


async def _file(request: Request, found: ItemsView, no: int, index: int, unit_id: str | None = None) -> Response:
    c = ctx(request)
    item = next((i for i in await info_calls.every_item(c.settings, found, unit_id) if i.no == no), None)
    refs = (([item.body] if item.body else []) + item.attachments) if item else []
    if item is None or not 0 <= index < len(refs):
        raise HTTPException(404, "no such file")
    return await verified_file(request, refs[index], "portal_error.html")
