"""`GET /files/{token}`: a stored file by its signed link, for whoever the mail carrying the link went to.

The roll-up mail to an upper office attaches files up to the mail's attachment budget and links
the rest (activities/mail.py); the link is signed for that one file (its hash, name and size) and
expires like a portal link. No sign-in: the upper office has no account here.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from activities.portal_tokens import TokenError
from console.web.context import ctx
from console.web.downloads import verified_file

router = APIRouter()


@router.get("/files/{token}", include_in_schema=False)
async def download(request: Request, token: str) -> Response:
    c = ctx(request)
    try:
        ref = c.tokens.read_file(token)
    except TokenError as err:
        return c.render(request, "portal_error.html", status_code=403, reason=f"下载链接无效（{err}）")
    return await verified_file(request, ref, "portal_error.html")  # checked against the hash the link carries
