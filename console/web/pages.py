"""Operator pages: sign-in, boards, a unit's timeline, office actions, charts, mail viewer (leads: lead_pages)."""

import asyncio
import datetime as dt
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from activities.portal_tokens import office_of
from console import client_calls as calls
from console import links, stats, stats_workbook
from console import submissions as subs
from console.auth import SESSION_COOKIE, SESSION_SECONDS, SignIn, User
from console.web import charts, downloads
from console.web.actions import CycleAction, CycleActionName, UnitAction, UnitActionName, cycle_action, unit_action
from console.web.context import FLASH_COOKIE, ctx, form_csrf, page_operator, page_user
from schemas.board import CycleBoard
from schemas.cycle import Receipt, SubmitReport
from schemas.plan import ReportKind

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]
PageOperator = Annotated[User, Depends(page_operator)]


def redirect(url: str, flash: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, urllib.parse.quote(flash[:300]), httponly=True, samesite="lax", max_age=60)
    return response


def cycle_url(cycle_id: str, unit_id: str | None = None) -> str:
    url = f"/cycles/{urllib.parse.quote(cycle_id, safe='')}"
    return url + (f"/units/{urllib.parse.quote(unit_id, safe='')}" if unit_id else "")


# ---- sign-in ---------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    c = ctx(request)
    return c.render(request, "login.html", next=next, error=None, dev_admin=c.auth.dev_admin_enabled())


def _safe_next(target: str) -> str:
    # Only local paths: a crafted ?next= must not send an operator to another site after sign-in.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", dependencies=[Depends(form_csrf)])
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    c = ctx(request)
    # Behind a trusted proxy uvicorn has already put the real client's address here.
    address = request.client.host if request.client else "?"
    outcome, user = await c.auth.sign_in(username, password, address)
    if user is None:
        status, error = {
            SignIn.LOCKED: (429, "登录失败次数过多，请稍后再试"),
            SignIn.BUSY: (503, "登录请求过多，请稍后再试"),
        }.get(outcome, (401, "用户名或密码错误"))
        return c.render(
            request,
            "login.html",
            status_code=status,
            next=next,
            dev_admin=c.auth.dev_admin_enabled(),
            error=error,
        )
    response = redirect(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        c.auth.session_cookie(user),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=c.auth.secure_cookies,
    )
    return response


@router.post("/logout", dependencies=[Depends(form_csrf)])
async def logout() -> Response:
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---- boards ----------------------------------------------------------------------------------


@router.get("/")
async def board(request: Request, user: PageUser, campaign: str | None = None, period: str | None = None) -> Response:
    c = ctx(request)
    client = await c.client()
    from console.web.info_pages import channel_url, info_boards

    async def cycle_boards() -> tuple[list[calls.CycleRef], list[CycleBoard]]:
        refs = await calls.list_cycles(client, campaign or None, period or None, c.archive)
        # The compact query (per-cycle figures, the most urgent units' lights); the rest is on the cycle page.
        return refs, await calls.boards(client, refs, c.archive)

    # The cycles and the information channels are separate listings: ask both at once.
    (refs, statuses), infos = await asyncio.gather(cycle_boards(), info_boards(client, campaign or None))
    campaigns = sorted({r.campaign_id for r in refs})
    totals: dict[str, int] = {}
    for s in statuses:
        for key, n in s.counts.items():
            totals[key] = totals.get(key, 0) + n
    return c.render(
        request,
        "board.html",
        info_boards=infos,
        channel_url=channel_url,
        statuses=statuses,
        campaigns=campaigns,
        campaign=campaign or "",
        period=period or "",
        totals=totals,
        cycle_url=cycle_url,
    )


@router.get("/cycles/{cycle_id}")
async def cycle_page(request: Request, user: PageUser, cycle_id: str) -> Response:
    c = ctx(request)
    client = await c.client()
    status = await calls.cycle_status(client, cycle_id, c.archive)
    views = [await calls.unit_view(client, cycle_id, row.unit_id, c.archive) for row in status.units[:60]]
    opened = min((e.at for v in views for e in v.state.timeline), default=status.now)
    chart = charts.cycle_timeline(charts.lanes(views, opened), status.now)
    return c.render(request, "cycle.html", status=status, chart=chart, cycle_url=cycle_url)


@router.get("/cycles/{cycle_id}/units/{unit_id}")
async def unit_page(request: Request, user: PageUser, cycle_id: str, unit_id: str) -> Response:
    c = ctx(request)
    client = await c.client()
    view = await calls.unit_view(client, cycle_id, unit_id, c.archive)
    chart = charts.cycle_timeline(
        charts.lanes([view], min((e.at for e in view.state.timeline), default=view.row.due.at)), dt.datetime.now(dt.UTC)
    )
    # Links only for operators (leadership looks, it does not hand out access), valid from the last revocation.
    valid_from = await links.valid_from(c.revocations, cycle_id, unit_id, view.state.links_valid_from)
    portal = c.tokens.portal_link(cycle_id, unit_id, not_before=valid_from) if user.may_act else None
    feed = c.tokens.feed_link(office_of(cycle_id), unit_id, not_before=valid_from) if user.may_act else None
    return c.render(
        request,
        "unit.html",
        view=view,
        chart=chart,
        portal=portal,
        feed=feed,
        cycle_url=cycle_url,
        kinds=list(ReportKind),
        file_base=cycle_url(cycle_id, unit_id) + "/files",
    )


@router.get("/cycles/{cycle_id}/units/{unit_id}/files/{sha256}")
async def unit_file(request: Request, user: PageUser, cycle_id: str, unit_id: str, sha256: str) -> Response:
    """A file the unit submitted, from the blob store (operators and leaders alike may read)."""
    view = await calls.unit_view(await ctx(request).client(), cycle_id, unit_id)
    subs.logged(user.name, user.role.value, "file", cycle_id, unit=unit_id, sha256=sha256)
    return await downloads.file_response(request, view, sha256, "error.html")


@router.get("/campaigns/{campaign}/ontime")
async def ontime_page(request: Request, user: PageUser, campaign: str) -> Response:
    """The statistics page for one campaign (the board's 按时报送率 button)."""
    return await stats_page(request, user, campaign=campaign)


@router.get("/stats")
async def stats_page(
    request: Request, user: PageUser, campaign: str = "", year: str = "", office: str = ""
) -> Response:
    """On-time rates, days late, returns and submissions per unit and office, by year and campaign, with charts."""
    c = ctx(request)
    wanted = stats.check_filter(campaign, year, office)  # Rejected: a 400 page saying why
    report, choices = await stats.collect(await c.client(), wanted, c.archive)
    return c.render(
        request,
        "stats.html",
        report=report,
        choices=choices,
        filter_text=stats_workbook.filter_text(report.filter),
        rate_text=stats_workbook.rate_text,
        export=f"/stats.xlsx?{urllib.parse.urlencode(report.filter.model_dump(exclude_none=True))}",
        units_chart=charts.ontime_chart([(u.name, u.total) for u in report.units]),
        offices_chart=charts.ontime_chart([(o.id, o.total) for o in report.offices], "各办公室所辖单位按时报送率"),
        yearly_chart=charts.yearly_chart([(u.name, u.by_year) for u in report.units], report.years),
    )


@router.get("/stats.xlsx")
async def stats_xlsx(
    request: Request, user: PageUser, campaign: str = "", year: str = "", office: str = ""
) -> Response:
    """The same statistics as an Excel workbook (leadership may download it too: it only reads)."""
    c = ctx(request)
    report, _ = await stats.collect(await c.client(), stats.check_filter(campaign, year, office), c.archive)
    subs.logged(user.name, user.role.value, "stats.xlsx", "", **report.filter.model_dump(exclude_none=True))
    name = stats_workbook.filename(report.filter)
    return Response(
        stats_workbook.workbook_bytes(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=subs.file_headers(name, inline=False),
    )


# ---- actions ---------------------------------------------------------------------------------


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise calls.Rejected(f"{text!r} 不是日期 (YYYY-MM-DD)") from err


@router.post("/cycles/{cycle_id}/units/{unit_id}/links/revoke", dependencies=[Depends(form_csrf)])
async def revoke_links_form(
    request: Request, user: PageOperator, cycle_id: str, unit_id: str, reason: Annotated[str, Form()] = ""
) -> Response:
    """Revoke the unit's links; the page then shows the new ones to send."""
    return await revoke_and_return(request, user, cycle_id, unit_id, reason, cycle_url(cycle_id, unit_id))


async def revoke_and_return(
    request: Request, user: User, workflow_id: str, unit_id: str, reason: str, back: str, office: str = ""
) -> Response:
    """Revoke a unit's links to a cycle, a channel or a lead (whose `office` the caller names), then back to
    `back` with what happened."""
    c = ctx(request)
    try:
        found = await links.revoke(
            await c.client(),
            c.tokens,
            c.revocations,
            workflow_id,
            unit_id,
            links.LinkRevocation(reason=reason).reason,
            user.name,
            office,
        )
    except (calls.Rejected, ValueError) as err:  # a reason the form cannot carry is a ValidationError
        return redirect(back, f"操作未执行：{err}")
    return redirect(back, f"已撤销此前的链接，请把本页的新链接发给该单位：{found.message}")


@router.post("/cycles/{cycle_id}/units/{unit_id}/actions/{action}", dependencies=[Depends(form_csrf)])
async def unit_action_form(
    request: Request,
    user: PageOperator,
    cycle_id: str,
    unit_id: str,
    action: UnitActionName,
    reason: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
) -> Response:
    c = ctx(request)
    try:
        result = await unit_action(
            await c.client(), cycle_id, unit_id, action, UnitAction(reason=reason, due=_date(due)), user.name
        )
    except (calls.Rejected, ValidationError) as err:
        return redirect(cycle_url(cycle_id, unit_id), f"操作未执行：{err}")
    return redirect(cycle_url(cycle_id, unit_id), f"已完成：{result.message}")


@router.post("/cycles/{cycle_id}/actions/{action}", dependencies=[Depends(form_csrf)])
async def cycle_action_form(
    request: Request, user: PageOperator, cycle_id: str, action: CycleActionName, reason: Annotated[str, Form()] = ""
) -> Response:
    c = ctx(request)
    try:
        result = await cycle_action(
            await c.client(), cycle_id, action, CycleAction(reason=reason), user.name, c.settings.calendars_dir
        )
    except calls.Rejected as err:
        return redirect(cycle_url(cycle_id), f"操作未执行：{err}")
    return redirect(cycle_url(cycle_id), f"已完成：{result.message}")


async def read_files(files: list[UploadFile], limit: int) -> list[tuple[str, bytes]]:
    """Read uploads, refusing as soon as one is over the limit (never more than limit+1 bytes in memory)."""
    out = []
    for f in files:
        if not f.filename:
            continue
        data = await f.read(limit + 1)
        if len(data) > limit:
            raise calls.Rejected(f"{calls.safe_filename(f.filename)}: over the limit of {limit} bytes")
        out.append((f.filename, data))
    return out


async def submit_for(
    request: Request,
    cycle_id: str,
    unit_id: str,
    title: str,
    kind: ReportKind,
    text: str,
    files: list[UploadFile],
    by: str,
) -> Receipt:
    """Store the text and files in the blob store, then call submit_report (shared by page, portal and API);
    a refused submission leaves no blob behind (`client_calls.submit_files`)."""
    c = ctx(request)
    loaded = await read_files(files, c.settings.max_upload_bytes)
    if not loaded and not text.strip():
        raise calls.Rejected("请填写正文或上传附件 (give a text or at least one file)")
    report_title = title.strip() or (loaded[0][0].rsplit(".", 1)[0] if loaded else "报送材料")
    try:
        call = SubmitReport(unit_id=unit_id, title=report_title[:200], kind=kind, by=by)
    except ValidationError as err:
        raise calls.Rejected(str(err.errors()[0]["msg"])) from err
    return await calls.submit_files(await c.client(), c.settings, cycle_id, call, text, loaded)


@router.post("/cycles/{cycle_id}/units/{unit_id}/submit", dependencies=[Depends(form_csrf)])
async def submit_form(
    request: Request,
    user: PageOperator,
    cycle_id: str,
    unit_id: str,
    title: Annotated[str, Form()] = "",
    kind: Annotated[ReportKind, Form()] = ReportKind.SUMMARY,
    text: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    try:
        receipt = await submit_for(request, cycle_id, unit_id, title, kind, text, files or [], f"{user.name}（代报）")
    except calls.Rejected as err:
        return redirect(cycle_url(cycle_id, unit_id), f"未报送：{err}")
    return redirect(cycle_url(cycle_id, unit_id), f"已代为报送，回执 {receipt.receipt_no}")


# ---- ledger, mail ---------------------------------------------------------------------------


@router.get("/export/{campaign}.xlsx")
async def export_xlsx(request: Request, user: PageUser, campaign: str) -> Response:
    from console.ledger import collect_ledger, ledger_bytes

    c = ctx(request)
    ledger = await collect_ledger(await c.client(), campaign, archive=c.archive)
    filename = urllib.parse.quote(f"{campaign}-台账.xlsx")
    return Response(
        ledger_bytes(ledger),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.get("/mail")
async def mail_list(request: Request, user: PageOperator) -> Response:
    from console.mail_viewer import list_messages

    c = ctx(request)
    messages = list(reversed(list_messages(c.settings.mail_dir)))[:300]
    return c.render(request, "mail_list.html", messages=messages)


@router.get("/mail/{message_id}")
async def mail_detail(request: Request, user: PageOperator, message_id: str) -> Response:
    from console.mail_viewer import read_message

    c = ctx(request)
    try:
        message = read_message(c.settings.mail_dir, message_id)
    except LookupError as err:
        raise HTTPException(404, str(err)) from err
    return c.render(request, "mail_detail.html", message=message)
