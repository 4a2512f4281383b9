"""`GET /files/{token}`: a stored file by its signed link, for whoever the mail carrying the link went to.

The roll-up mail to an upper office attaches files up to the mail's attachment budget and links
the rest (activities/mail.py); the link is signed for that one file (its hash, name and size) and
expires like a portal link. No sign-in: the upper office has no account here.
"""

import asyncio
import urllib.parse

from fastapi import APIRouter, Request
from fastapi.responses import Response

from activities.blobs import BlobNotFoundError, FileBlobStore
from activities.portal_tokens import TokenError
from console.web.context import ctx

router = APIRouter()


@router.get("/files/{token}", include_in_schema=False)
async def download(request: Request, token: str) -> Response:
    c = ctx(request)
    try:
        ref = c.tokens.read_file(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"下载链接无效（{err}）")
    store = FileBlobStore(c.settings.blob_dir)
    try:
        data = await asyncio.to_thread(store.get, ref)  # verified against the hash the link carries
    except BlobNotFoundError:
        return c.render(request, "portal_error.html", status_code=404, reason="该文件已不在存储中，请联系发件单位")
    filename = urllib.parse.quote(ref.name)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
