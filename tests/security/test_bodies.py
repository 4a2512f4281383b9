"""Authority and size are checked before a request body is read, and a refused upload leaves nothing in the
blob store (issue 21, item 3). The console app runs in process behind a wrapper that counts the body bytes
the app actually pulled from the connection."""

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import client_calls as calls
from console.auth import CSRF_COOKIE, hash_password
from console.web.app import create_app
from schemas.cycle import Waive
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.security.helpers import OPERATOR, PASSWORD, new_id, sign_in, tokens
from workflows.reporting_cycle import ReportingCycle

LIMIT = 256 * 1024  # DUBAN_MAX_UPLOAD_BYTES for these tests
BIG = b"%PDF-1.4\n" + secrets.token_bytes(2 * 1024 * 1024)  # over LIMIT + 1 MiB for the other fields


class BodyCounter:
    """ASGI wrapper: how many body bytes the app received."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Web:
    client: httpx.AsyncClient
    counter: BodyCounter


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[Web]:
    settings = cycle_stack.settings.model_copy(
        update={"operators": {OPERATOR: hash_password(PASSWORD, n=2**4)}, "max_upload_bytes": LIMIT}
    )
    counter = BodyCounter(create_app(settings, client=cycle_stack.client))
    transport = httpx.ASGITransport(app=counter)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/login")  # a browser has its CSRF cookie before it posts anything
        counter.read = 0
        yield Web(client, counter)


def blobs(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class TestNothingReadWithoutAuthority:
    async def test_operator_upload_without_session(self, web: Web) -> None:
        """A multipart upload to an operator route without a session is answered before its body is read."""
        answer = await web.client.post(
            "/cycles/cycle:c:o:x:2026-Y/units/u1/submit", files={"files": ("a.pdf", BIG)}, data={"title": "x"}
        )
        assert answer.status_code in (303, 401, 403)
        assert web.counter.read == 0

    async def test_api_json_without_session(self, web: Web) -> None:
        """A JSON call to the API without a session: 401, body unread."""
        body = json.dumps({"reason": "x" * 500_000})
        answer = await web.client.post(
            "/api/cycles/cycle:c:o:x:2026-Y/units/u1/waive", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401
        assert web.counter.read == 0

    async def test_api_json_without_csrf(self, web: Web) -> None:
        """Signed in but without the CSRF header: 403 before the body is read."""
        await sign_in(web.client)
        web.counter.read = 0
        answer = await web.client.post("/api/cycles/cycle:c:o:x:2026-Y/units/u1/waive", json={"reason": "x" * 50_000})
        assert answer.status_code == 403
        assert web.counter.read == 0

    async def test_codec_without_credential(self, web: Web) -> None:
        """The codec endpoint decrypts for operators only; a stranger's payloads are not even parsed."""
        body = json.dumps({"payloads": [{"metadata": {}, "data": "QUFB" * 100_000}]})
        answer = await web.client.post("/codec/decode", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 401
        assert web.counter.read == 0

    async def test_portal_upload_with_forged_token(self, web: Web) -> None:
        """A forged portal link gets its refusal page without its upload being read."""
        answer = await web.client.post(
            "/portal/eyJ1IjoidW5pdC1hIn0.forged.signature", files={"files": ("a.pdf", BIG)}, data={"title": "x"}
        )
        assert answer.status_code == 403
        assert web.counter.read == 0


class TestSizeBeforeReading:
    async def test_portal_upload_over_the_limit(self, web: Web, cycle_stack: CycleStack) -> None:
        """A valid portal link with a body whose Content-Length is over the limit: 413, nothing read."""
        unit = new_id("u")
        cycle = await cycle_stack.open_cycle("bodies-limit", units={unit: "甲单位"}, office_id=new_id("o"))
        path = f"/portal/{tokens(cycle_stack).portal_token(cycle.id, unit)}"
        answer = await web.client.post(path, files={"files": ("a.pdf", BIG)}, data={"title": "x"})
        assert answer.status_code == 413
        assert web.counter.read == 0

    async def test_sign_in_body_over_the_limit(self, web: Web) -> None:
        """The sign-in form is small: a megabyte posted to /login is refused unread."""
        answer = await web.client.post("/login", data={"username": "x" * 1_000_000, "password": "y"})
        assert answer.status_code == 413
        assert web.counter.read == 0

    async def test_a_body_without_length_is_refused(self, web: Web) -> None:
        """A chunked body (no Content-Length) cannot be checked before it is read: 411."""
        await sign_in(web.client)
        web.counter.read = 0

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b"x" * 16384

        answer = await web.client.post(
            "/api/cycles/cycle:c:o:x:2026-Y/units/u1/waive",
            content=chunks(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": str(web.client.cookies.get(CSRF_COOKIE))},
        )
        assert answer.status_code == 411
        assert web.counter.read == 0


async def test_refused_upload_leaves_no_blob(web: Web, cycle_stack: CycleStack) -> None:
    """A unit the office exempted submits through its portal: refused by the cycle, and the blob store holds
    nothing of that upload; an accepted upload of another unit is stored (the control)."""
    stack, exempt, other = cycle_stack, new_id("u"), new_id("u")
    cycle = await stack.open_cycle("bodies-refused", units={exempt: "甲单位", other: "乙单位"}, office_id=new_id("o"))
    await calls.update(stack.client, cycle.id, ReportingCycle.waive, Waive(unit_id=exempt, reason="不涉及", by="op"))
    before = blobs(stack.settings.blob_dir)
    refused_file = b"%PDF-1.4\n" + secrets.token_bytes(2048)
    refused_text = f"正文 {secrets.token_hex(8)}"

    page = await web.client.get(f"/portal/{tokens(stack).portal_token(cycle.id, exempt)}")
    csrf = str(web.client.cookies.get(CSRF_COOKIE))
    answer = await web.client.post(
        f"/portal/{tokens(stack).portal_token(cycle.id, exempt)}",
        data={"title": "总结", "text": refused_text, "csrf_token": csrf},
        files={"files": ("总结.pdf", refused_file)},
    )
    assert page.status_code == 200
    assert answer.status_code == 400 and "exempted" in answer.text, answer.text[:500]
    assert blobs(stack.settings.blob_dir) == before, "the refused upload left blobs behind"

    accepted = await web.client.post(
        f"/portal/{tokens(stack).portal_token(cycle.id, other)}",
        data={"title": "总结", "csrf_token": csrf},
        files={"files": ("总结.pdf", refused_file)},
    )
    assert accepted.status_code == 200, accepted.text[:500]
    assert len(blobs(stack.settings.blob_dir) - before) == 1
