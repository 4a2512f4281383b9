"""Authority and size before any body: the first thing every POST meets, ahead of FastAPI's form and JSON parsing.

FastAPI reads (and for multipart, spools to disk) a request's body before a
route's dependencies run, so a session or CSRF check in a dependency comes too
late: a stranger's upload has already been read. This ASGI middleware looks at
the headers only and answers before the body is touched:

| path | authority | body limit |
|---|---|---|
| `/login` | none (a CSRF cookie) | 16 KiB |
| `/portal/<token>[/…]` | a valid, unrevoked portal token (and a CSRF cookie) | upload limit |
| `/codec/…` | a codec credential or an operator session (`console.codec_api`) | 16 MiB |
| `/api/…` | a session and the X-CSRF-Token header | upload limit for `…/submit`, else 64 KiB |
| any other | a session (and a CSRF cookie) | upload limit for `…/submit`, `…/amend[/apply]`, else 64 KiB |

The upload limit is `DUBAN_MAX_UPLOAD_BYTES` plus 1 MiB for the other form
fields: one request carries at most that much, however many files. A body must
declare its length (411 otherwise; h11 then holds the client to it), and one
over the limit gets 413. The routes still do their full checks afterwards (the
CSRF field of a form is inside the body, so it is compared there).
"""

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from activities.portal_tokens import TokenError, check_not_revoked
from console.auth import CSRF_COOKIE, CSRF_HEADER, csrf_ok
from console.web.context import Console, current_user

CodecGate = Callable[[Request], Awaitable[Response | None]]

LOGIN_BYTES = 16 * 1024
FORM_BYTES = 64 * 1024
CODEC_BYTES = 16 * 1024 * 1024
FORM_OVERHEAD_BYTES = 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Forms that carry a file: a submission's attachments, an edited plan for a cycle's amendment.
UPLOAD_PATHS = ("/submit", "/amend", "/amend/apply")


def _refuse(path: str, status: int, detail: str) -> Response:
    if path.startswith(("/api/", "/codec/")):
        return JSONResponse({"detail": detail}, status_code=status)
    return PlainTextResponse(detail, status_code=status)


class BodyGate:
    def __init__(self, app: ASGIApp, console: Console, codec_gate: CodecGate) -> None:
        self.app = app
        self.console = console
        self.codec_gate = codec_gate
        self.upload_bytes = console.settings.max_upload_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            refusal = await self.check(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def check(self, request: Request) -> Response | None:
        """A response refusing the request, from its headers alone; None lets it through."""
        path = request.url.path
        authority, limit = await self.authority(request, path)
        if authority is not None:
            return authority
        declared = request.headers.get("content-length")
        if declared is None:
            if request.headers.get("transfer-encoding"):
                return _refuse(path, 411, "send the body with a Content-Length")
            return None
        if not declared.isdigit():
            return _refuse(path, 400, "invalid Content-Length")
        if int(declared) > limit:
            return _refuse(path, 413, f"request body over the limit of {limit} bytes")
        return None

    async def authority(self, request: Request, path: str) -> tuple[Response | None, int]:
        """(refusal or None, body limit) for this path."""
        has_csrf_cookie = bool(request.cookies.get(CSRF_COOKIE))
        if path == "/login":
            if not has_csrf_cookie:
                return _refuse(path, 403, "CSRF check failed: load the sign-in page first"), 0
            return None, LOGIN_BYTES
        if path.startswith("/portal/"):
            return await self.portal(request, path, has_csrf_cookie), self.upload_bytes
        if path.startswith("/codec/"):
            return await self.codec_gate(request), CODEC_BYTES
        limit = self.upload_bytes if path.endswith(UPLOAD_PATHS) else FORM_BYTES
        user = current_user(request)
        if path.startswith("/api/"):
            if user is None:
                return _refuse(path, 401, "sign in first (POST /login)"), limit
            if not csrf_ok(request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)):
                return _refuse(
                    path, 403, "CSRF check failed: send the duban_csrf cookie's value as X-CSRF-Token"
                ), limit
            return None, limit
        if user is None:
            return RedirectResponse("/login", status_code=303), limit
        if not has_csrf_cookie:
            return _refuse(path, 403, "表单已失效，请刷新页面后重试 (CSRF check failed)"), limit
        return None, limit

    async def portal(self, request: Request, path: str, has_csrf_cookie: bool) -> Response | None:
        token = path.split("/")[2]
        try:
            grant = self.console.tokens.read_portal(token)
            if not grant.cycle_id:
                raise TokenError("this link is not valid")
            since = await self.console.revocations.valid_from(grant.office_id, grant.unit_id)
            check_not_revoked(grant, since)
        except TokenError as err:
            return _refuse(path, 403, f"链接无效、已过期或已被撤销（{err}）")
        if not has_csrf_cookie:
            return _refuse(path, 403, "表单已失效，请刷新页面后重试 (CSRF check failed)")
        return None
