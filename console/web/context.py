"""What every route of the console shares: settings, sign-in, links, templates, one Temporal client."""

import asyncio
import datetime as dt
import urllib.parse
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request, Response
from fastapi.templating import Jinja2Templates
from temporalio.client import Client

from activities.archive import Archive
from activities.portal_tokens import PortalTokens
from activities.records import Records
from console import client_calls as calls
from console.access_store import RevocationStore
from console.auth import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Auth, User, csrf_ok
from domain import lead_wording
from domain.cycle_words import KIND_ZH, LIGHT_ZH, PHASE_ZH, STAGE_ZH, what_zh
from domain.legaltime.wording import relative_due, zh_period
from schemas.calendar import Due
from schemas.cycle import UnitPhase, UnitRow
from workers.settings import Settings
from workers.temporal import data_converter

HERE = Path(__file__).parent
FLASH_COOKIE = "duban_flash"


def local(at: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    if at is None:
        return "—"
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def due_text(due: Due | None) -> str:
    if due is None:
        return "—"
    return local(due.at, due.tz) + ("（暂定）" if due.provisional else "")


def countdown(due: Due | None, now: dt.datetime | None = None) -> str:
    """'3天后截止' or '已逾期2天', from the status's own `now` where the page has one, else the request's."""
    if due is None:
        return ""
    return relative_due(due.at, now or dt.datetime.now(dt.UTC))


def still_owed(row: UnitRow) -> bool:
    """A unit whose countdown matters: it has not submitted (or was asked to revise)."""
    return row.phase in (UnitPhase.PENDING, UnitPhase.RETURNED)


class Console:
    """One per app: built from the settings; the Temporal client connects on first use."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        # The records database: revocations, the shared sign-in limiter, the archive of closed cycles.
        self.records = Records(settings.records_url_value())
        self.auth = Auth(settings, self.records)
        self.tokens = PortalTokens(
            settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days
        )
        self.revocations = RevocationStore(self.records)
        self.archive = Archive(self.records, data_converter(settings))
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.globals.update(
            local=local,
            due_text=due_text,
            countdown=countdown,
            still_owed=still_owed,
            what_zh=what_zh,
            lead_stage_zh=lead_wording.stage_zh,
            lead_policy_zh=lead_wording.policy_zh,
            lead_event_zh=lead_wording.event_zh,
            lead_state_zh=lead_wording.track_state_zh,
            PHASE_ZH=PHASE_ZH,
            LIGHT_ZH=LIGHT_ZH,
            STAGE_ZH=STAGE_ZH,
            KIND_ZH=KIND_ZH,
            period_zh=zh_period,
            new_key=lambda: uuid.uuid4().hex,  # one per rendered form: a resent form is the same click
            CSRF_FIELD=CSRF_FIELD,
            quote=lambda s: urllib.parse.quote(str(s), safe=""),
            max_upload_mb=round(settings.max_upload_bytes / 1024 / 1024, 1),
        )
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await calls.connect(self.settings)
        return self._client

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("user", current_user(request))
        context.setdefault("csrf", request.state.csrf)
        context.setdefault(
            "flash", request.cookies.get(FLASH_COOKIE) and urllib.parse.unquote(request.cookies.get(FLASH_COOKIE, ""))
        )
        context.setdefault("dev", self.settings.environment == "development")
        response: Response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        if request.cookies.get(FLASH_COOKIE):
            response.delete_cookie(FLASH_COOKIE)
        return response


def ctx(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def current_user(request: Request) -> User | None:
    return ctx(request).auth.read_session(request.cookies.get(SESSION_COOKIE))


class SignInRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the sign-in page."""


def page_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise SignInRequired(request.url.path)
    return user


def page_operator(request: Request) -> User:
    user = page_user(request)
    if not user.may_act:
        raise HTTPException(403, "领导账号只能查看，不能操作")
    return user


def api_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "sign in first (POST /login)")
    return user


def api_operator(request: Request) -> User:
    user = api_user(request)
    if not user.may_act:
        raise HTTPException(403, "read-only account")
    return user


async def form_csrf(request: Request) -> None:
    """Forms: the hidden field must equal the browser's CSRF cookie."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), sent if isinstance(sent, str) else None):
        raise HTTPException(403, "表单已失效，请刷新页面后重试 (CSRF check failed)")


async def header_csrf(request: Request) -> None:
    """JSON calls: the X-CSRF-Token header must equal the CSRF cookie."""
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "CSRF check failed: send the duban_csrf cookie's value as X-CSRF-Token")
