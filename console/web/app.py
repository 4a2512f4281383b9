"""The web console's app factory: `uvicorn console.web.app:create_app --factory` (what `duban console` runs)."""

import urllib.parse
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint
from temporalio.client import Client
from temporalio.service import RPCError

from console import client_calls as calls
from console.auth import CSRF_COOKIE, new_csrf_token
from console.web import amend, api, chase, files, info_pages, lead_pages, lead_portal, pages, portal, reading
from console.web.body_gate import BodyGate
from console.web.context import HERE, Console, SignInRequired, current_user
from workers.safety import refuse_unsafe
from workers.settings import Settings, load_settings


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None, *, client: Client | None = None) -> FastAPI:
    settings = settings or load_settings()
    # `duban console` checked already; this guards `uvicorn console.web.app:create_app --factory` too.
    refuse_unsafe(settings, "console")
    console = Console(settings, client)
    app = FastAPI(title="督办 duban console API", version="1", docs_url="/api/docs", redoc_url=None)
    app.state.console = console

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next: RequestResponseEndpoint) -> Response:
        # Every browser gets a CSRF cookie on first contact; forms echo it in a hidden field.
        existing = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = existing or new_csrf_token()
        response = await call_next(request)
        if not existing:
            response.set_cookie(
                CSRF_COOKIE, request.state.csrf, httponly=True, samesite="lax", secure=console.auth.secure_cookies
            )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # portal tokens live in URLs
        return response

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={urllib.parse.quote(str(exc))}", status_code=303)

    def error(request: Request, status: int, detail: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": detail}, status_code=status)
        return console.render(request, "error.html", status_code=status, detail=detail)

    @app.exception_handler(calls.NotFound)
    async def not_found(request: Request, exc: calls.NotFound) -> Response:
        return error(request, 404, str(exc))

    @app.exception_handler(calls.Rejected)
    async def rejected(request: Request, exc: calls.Rejected) -> Response:
        return error(request, 400, str(exc))

    @app.exception_handler(calls.Busy)
    async def busy(request: Request, exc: calls.Busy) -> Response:
        return error(request, 503, str(exc))

    @app.exception_handler(calls.CallFailed)
    async def failed(request: Request, exc: calls.CallFailed) -> Response:
        return error(request, 500, str(exc))

    @app.exception_handler(RPCError)
    async def temporal_down(request: Request, exc: RPCError) -> Response:
        return error(request, 503, f"Temporal: {exc.message}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request) or (current_user(request) is None and exc.status_code == 401):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # loc, msg and type as the OpenAPI document promises (ValidationError); the input is not echoed.
        details: list[Any] = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        if _wants_json(request):
            return JSONResponse({"detail": details}, status_code=422)
        return error(request, 422, "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def require_operator(request: Request) -> bool:
        user = current_user(request)
        return user is not None and user.may_act

    from console.codec_api import codec_gate, codec_router
    from console.feed import feed_router

    # Outermost: session, token, CSRF and size are checked before anything reads a body.
    app.add_middleware(BodyGate, console=console, codec_gate=codec_gate(settings, require_operator=require_operator))
    app.include_router(codec_router(settings, require_operator=require_operator))
    app.include_router(feed_router(settings, console.client))
    app.include_router(reading.api_router)
    app.include_router(chase.api_router)
    app.include_router(api.router)
    app.include_router(info_pages.router)
    app.include_router(portal.router)
    app.include_router(lead_portal.router)
    app.include_router(lead_pages.router)
    app.include_router(files.router)
    app.include_router(reading.router)
    app.include_router(chase.router)
    app.include_router(amend.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
