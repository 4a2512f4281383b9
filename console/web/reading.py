"""The office reads what units sent: a cycle's submissions, one submission's body and files, the roll-up.

Operators and leadership (read only) may read; a unit's portal link opens nothing here — a page needs a
signed-in session, and a unit reaches its own files only through its portal (console/web/portal.py), which
takes the unit from its token. PDFs and pictures open in the browser under a sandboxing CSP; everything
else downloads with its original (Chinese) name. Every download is logged with who and what.
"""

import shutil
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from console import client_calls as calls
from console import submissions as subs
from console import unit_import
from console.auth import User
from console.web.context import api_user, ctx, page_user
from console.web.pages import cycle_url
from console.web.responses import READ

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])
PageUser = Annotated[User, Depends(page_user)]
ApiUser = Annotated[User, Depends(api_user)]

# A body longer than this is shown cut short on the page (the whole text downloads).
BODY_SHOWN_CHARS = 100_000


def submission_url(cycle_id: str, unit_id: str, receipt: str) -> str:
    return f"{cycle_url(cycle_id, unit_id)}/submissions/{urllib.parse.quote(receipt, safe='')}"


@router.get("/cycles/{cycle_id}/submissions")
async def cycle_submissions(request: Request, user: PageUser, cycle_id: str) -> Response:
    """Every submission of the cycle, with the office's roll-up package and 汇总报告 (from the board)."""
    c = ctx(request)
    client = await c.client()
    items = await subs.list_submissions(client, cycle_id)
    status = await calls.cycle_status(client, cycle_id)
    return c.render(
        request,
        "submissions.html",
        status=status,
        items=items,
        cycle_url=cycle_url,
        submission_url=submission_url,
    )


@router.get("/cycles/{cycle_id}/units/{unit_id}/submissions/{receipt}")
async def submission_page(request: Request, user: PageUser, cycle_id: str, unit_id: str, receipt: str) -> Response:
    """One submission: its text shown on the page, each file to open or download."""
    c = ctx(request)
    name, sub = await subs.find_submission(await c.client(), cycle_id, unit_id, receipt)
    body = ""
    if sub.body is not None:
        data = await subs.read_blob(c.settings, sub.body)
        body = _text(data)
        subs.logged(user.name, user.role.value, "body", cycle_id, unit=unit_id, receipt=receipt, sha256=sub.body.sha256)
    item = subs.item(cycle_id, unit_id, name, sub)
    return c.render(
        request,
        "submission.html",
        item=item,
        body=body[:BODY_SHOWN_CHARS],
        cut=len(body) > BODY_SHOWN_CHARS,
        inline={f.n: subs.shows_inline(subs.file_ref(sub, f.n)) for f in item.files},
        cycle_url=cycle_url,
        here=submission_url(cycle_id, unit_id, receipt),
    )


def _text(data: bytes) -> str:
    # Bodies typed into the console are UTF-8; a .txt from an older Windows editor may be GB18030.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


@router.get("/cycles/{cycle_id}/units/{unit_id}/submissions/{receipt}/files/{n}")
async def submission_file(
    request: Request, user: PageUser, cycle_id: str, unit_id: str, receipt: str, n: int, download: bool = False
) -> Response:
    """File `n` of a submission (0 the body, 1… the attachments): PDFs and pictures inline unless `download`."""
    c = ctx(request)
    _, sub = await subs.find_submission(await c.client(), cycle_id, unit_id, receipt)
    ref = subs.file_ref(sub, n)
    data = await subs.read_blob(c.settings, ref)
    inline = subs.shows_inline(ref) and not download
    subs.logged(
        user.name,
        user.role.value,
        "file",
        cycle_id,
        unit=unit_id,
        receipt=receipt,
        n=n,
        sha256=ref.sha256,
        size=ref.size,
    )
    media_type = ref.media_type if inline else "application/octet-stream"
    return Response(data, media_type=media_type, headers=subs.file_headers(ref.name, inline))


@router.get("/cycles/{cycle_id}/rollup/{what}")
async def rollup_file(request: Request, user: PageUser, cycle_id: str, what: str, draft: bool = False) -> Response:
    """The office's own roll-up: `package` (the zip) or `summary` (汇总报告.docx) — what was forwarded once the
    cycle has forwarded, else compiled now from the current submissions (`draft=1` always compiles now)."""
    if what not in ("package", "summary"):
        raise calls.NotFound(f"no roll-up file {what!r} (package or summary)")
    c = ctx(request)
    client = await c.client()
    # The files live until the response is sent; the directory goes with them.
    folder = subs.scratch_folder(c.settings)
    try:
        files = await subs.rollup_files(client, c.settings, cycle_id, folder, draft)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    path, name = (files.package, files.package_name) if what == "package" else (files.summary, files.summary_name)
    subs.logged(user.name, user.role.value, f"rollup-{what}", cycle_id, forwarded=files.forwarded, draft=draft)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers=subs.file_headers(name, inline=False),
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@api_router.get("/cycles/{cycle_id}/submissions", response_model=list[subs.SubmissionItem], responses=READ)
async def api_submissions(request: Request, user: ApiUser, cycle_id: str, unit: str | None = None) -> object:
    """The cycle's submissions (or one unit's): receipt, unit, kind, title, time, late, body and files."""
    return await subs.list_submissions(await ctx(request).client(), cycle_id, unit or None)


@router.get("/templates/units.xlsx")
async def units_template(request: Request, user: PageUser) -> Response:
    """The unit-list workbook `duban plan import-units` reads: headings, an example row, how to fill it in."""
    return Response(
        unit_import.template_workbook(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=subs.file_headers("单位名单模板.xlsx", inline=False),
    )
