"""The web console through an ASGI client, against a live dev server, worker and SMTP sink:
sign-in, CSRF, the board, the unit portal (and its isolation), upload limits, the JSON API."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.portal_tokens import REVOKED, PortalTokens
from console import client_calls as calls
from console.auth import CSRF_COOKIE, hash_password, verify_password
from console.web.app import create_app
from domain.cycle_board import board_of_status
from schemas.board import CycleBoardQuery
from schemas.cycle import Waive
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from workflows.reporting_cycle import ReportingCycle

PASSWORD = "correct horse battery"
LEADER_PASSWORD = "leader password 1"


@pytest.fixture(scope="module")
def hashes() -> tuple[str, str]:
    return hash_password(PASSWORD), hash_password(LEADER_PASSWORD)


@pytest.fixture
async def web(cycle_stack: CycleStack, hashes: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(
        update={"operators": {"zhang": hashes[0]}, "leaders": {"li": hashes[1]}, "max_upload_bytes": 64 * 1024}
    )
    app = create_app(settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def tokens(stack: CycleStack) -> PortalTokens:
    s = stack.settings
    return PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match[1]


async def sign_in(client: httpx.AsyncClient, user: str = "zhang", password: str = PASSWORD) -> httpx.Response:
    token = await csrf(client)
    return await client.post("/login", data={"username": user, "password": password, "csrf_token": token})


class TestSignIn:
    def test_password_hash_round_trip(self) -> None:
        """scrypt hashes verify the right password only."""
        stored = hash_password("s3cret-pass")
        assert verify_password("s3cret-pass", stored)
        assert not verify_password("s3cret-pasS", stored)
        assert not verify_password("x", "garbage")

    async def test_board_needs_sign_in(self, web: httpx.AsyncClient) -> None:
        page = await web.get("/")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
        assert (await web.get("/api/cycles")).status_code == 401

    async def test_sign_in_sets_httponly_session(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        response = await sign_in(web)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "duban_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert (await web.get("/", params={"campaign": cycle_stack.campaign})).status_code == 200

    async def test_wrong_password_and_rate_limit(self, web: httpx.AsyncClient) -> None:
        """Five failures within a minute lock the user+address; even the right password is refused then."""
        for _ in range(5):
            assert (await sign_in(web, password="wrong")).status_code == 401
        locked = await sign_in(web)
        assert locked.status_code == 429
        assert "duban_session" not in locked.headers.get("set-cookie", "")

    async def test_login_without_csrf_is_refused(self, web: httpx.AsyncClient) -> None:
        await web.get("/login")
        response = await web.post("/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": "forged"})
        assert response.status_code == 403
        assert "duban_session" not in response.headers.get("set-cookie", "")

    async def test_forged_session_cookie_is_ignored(self, web: httpx.AsyncClient) -> None:
        web.cookies.set("duban_session", "eyJ1IjoiemhhbmcifQ.forged.sig")
        assert (await web.get("/")).status_code == 303


class TestBoardAndActions:
    async def test_board_shows_lights_and_counts(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        handle = await cycle_stack.open_cycle("web-board")
        await sign_in(web)
        page = await web.get("/", params={"campaign": cycle_stack.campaign})
        assert page.status_code == 200
        # This cycle's card, not the whole page (other tests' cycles share the board): its three units, blue.
        card = re.search(
            rf'<section class="card cycle" data-cycle="{re.escape(handle.id)}">(.*?)</section>', page.text, re.S
        )
        assert card is not None, "the cycle has no card on the board"
        lights = dict(re.findall(r'data-unit="([^"]+)" data-light="([^"]+)"', card[1]))
        assert lights == {"unit-a": "blue", "unit-b": "blue", "unit-c": "blue"}
        assert "已报 0" in card[1]
        # Due about ten days out: the board and the cycle page count down in words (pendulum, zh).
        assert re.search(r'class="countdown">(1周|2周|\d+天)后截止<', page.text)
        cycle_page = await web.get(f"/cycles/{handle.id}")
        assert cycle_page.status_code == 200
        assert "<svg" in cycle_page.text
        assert cycle_page.text.count('class="countdown">') >= 3

    async def test_board_query_says_what_the_full_status_says(self, cycle_stack: CycleStack) -> None:
        """The running cycle's get_board equals the board made from its get_status (as for an archived
        cycle), whole and limited to the most urgent units."""
        handle = await cycle_stack.open_cycle("web-board-query")
        await calls.update(
            cycle_stack.client, handle.id, ReportingCycle.waive, Waive(unit_id="unit-b", reason="合并", by="op")
        )
        # No task between the two queries: both answer at the same workflow.now().
        status = await calls.cycle_status(cycle_stack.client, handle.id)
        for limit in (100, 1):
            board = await calls.board(cycle_stack.client, handle.id, call=CycleBoardQuery(max_units=limit))
            assert board == board_of_status(status, limit)
        assert [u.light.value for u in board.units] == ["blue"] and board.units_left_out == 2
        assert board.counts["waived"] == 1

    async def test_action_form_needs_csrf_and_operator(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        """A form without the token changes nothing; a leader may look but not act; an operator may act."""
        handle = await cycle_stack.open_cycle("web-actions")
        url = f"/cycles/{handle.id}/units/unit-b/actions/waive"
        await sign_in(web, "li", LEADER_PASSWORD)
        assert (await web.get(f"/cycles/{handle.id}/units/unit-b")).status_code == 200
        token = web.cookies[CSRF_COOKIE]
        assert (await web.post(url, data={"reason": "x", "csrf_token": token})).status_code == 403

        await sign_in(web)
        assert (await web.post(url, data={"reason": "x"})).status_code == 403
        assert (await web.post(url, data={"reason": "x", "csrf_token": "nope"})).status_code == 403
        status = (await web.get(f"/api/cycles/{handle.id}")).json()
        assert next(r for r in status["units"] if r["unit_id"] == "unit-b")["light"] == "blue"

        done = await web.post(url, data={"reason": "本期无相关工作", "csrf_token": token})
        assert done.status_code == 303
        status = (await web.get(f"/api/cycles/{handle.id}")).json()
        assert next(r for r in status["units"] if r["unit_id"] == "unit-b")["light"] == "grey"
        # A rejected action (already waived) is shown to the operator, not applied twice.
        again = await web.post(url, data={"reason": "x", "csrf_token": token}, follow_redirects=True)
        assert "操作未执行" in again.text
        assert "already waived" in again.text


class TestPortal:
    async def test_portal_submit_and_isolation(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        """Unit A's link shows and changes only unit A; the receipt is shown and the board turns green."""
        handle = await cycle_stack.open_cycle("web-portal")
        links = tokens(cycle_stack)
        token_a = links.portal_token(handle.id, "unit-a")
        page = await web.get(f"/portal/{token_a}")
        assert page.status_code == 200
        assert "甲单位" in page.text
        assert "乙单位" not in page.text
        assert "计算依据" in page.text
        assert re.search(r'class="countdown">[^<]+后截止<', page.text)
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form_token

        # The unit id in the form is ignored: the token decides which unit submits.
        response = await web.post(
            f"/portal/{token_a}",
            data={"csrf_token": form_token[1], "title": "上半年总结", "text": "全年检查 12 次", "unit_id": "unit-b"},
            files=[("files", ("../../总结.pdf", b"%PDF-1.4 test", "application/pdf"))],
        )
        assert response.status_code == 200, response.text[:800]
        assert "回执号" in response.text
        status = (await (await self._operator(web)).get(f"/api/cycles/{handle.id}")).json()
        rows = {r["unit_id"]: r for r in status["units"]}
        assert rows["unit-a"]["light"] == "green"
        assert rows["unit-b"]["light"] == "blue"
        assert rows["unit-b"]["reports"] == 0
        view = (await web.get(f"/api/cycles/{handle.id}/units/unit-a")).json()
        assert view["state"]["submissions"][0]["attachments"][0]["name"] == "总结.pdf"

    async def _operator(self, web: httpx.AsyncClient) -> httpx.AsyncClient:
        await sign_in(web)
        return web

    async def test_bad_tokens(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        """A forged token, a feed token and another key's token never open a portal page."""
        handle = await cycle_stack.open_cycle("web-tokens", units={"unit-a": "甲单位"})
        good = tokens(cycle_stack).portal_token(handle.id, "unit-a")
        assert (await web.get(f"/portal/{good[:-3]}abc")).status_code == 403
        assert (await web.get(f"/portal/{tokens(cycle_stack).feed_token('test-office', 'unit-a')}")).status_code == 403
        other = PortalTokens("another-secret", "http://x").portal_token(handle.id, "unit-a")
        assert (await web.get(f"/portal/{other}")).status_code == 403

    async def test_revoked_link_is_refused_and_a_new_one_opens(
        self, web: httpx.AsyncClient, cycle_stack: CycleStack
    ) -> None:
        """After the office revokes unit A's links, A's old link neither shows nor submits; the new one and
        one made in the same second open; unit B's link is untouched; the timeline says who did it."""
        handle = await cycle_stack.open_cycle("web-revoke")
        links = tokens(cycle_stack)
        old_a, old_b = links.portal_token(handle.id, "unit-a"), links.portal_token(handle.id, "unit-b")
        assert (await web.get(f"/portal/{old_a}")).status_code == 200

        await sign_in(web)
        revoked = await web.post(
            f"/api/cycles/{handle.id}/units/unit-a/links/revoke",
            json={"reason": "通知被转发到外部群"},
            headers={"X-CSRF-Token": web.cookies[CSRF_COOKIE]},
        )
        assert revoked.status_code == 200, revoked.text
        fresh = revoked.json()
        assert fresh["links_valid_from"] and fresh["portal_link"].startswith(cycle_stack.settings.public_url)

        page = await web.get(f"/portal/{old_a}")
        assert page.status_code == 403
        assert REVOKED in page.text and "甲单位" not in page.text
        submit = await web.post(
            f"/portal/{old_a}", data={"csrf_token": web.cookies[CSRF_COOKIE], "title": "冒名报送", "text": "x"}
        )
        assert submit.status_code == 403 and REVOKED in submit.text
        extension = await web.post(
            f"/portal/{old_a}/extension",
            data={"csrf_token": web.cookies[CSRF_COOKIE], "wanted": "2099-01-01", "reason": "x"},
        )
        assert extension.status_code == 403 and REVOKED in extension.text

        new_path = "/portal/" + fresh["portal_link"].rsplit("/portal/", 1)[1]
        assert (await web.get(new_path)).status_code == 200
        same_second = links.portal_token(handle.id, "unit-a")
        assert (await web.get(f"/portal/{same_second}")).status_code == 200
        assert (await web.get(f"/portal/{old_b}")).status_code == 200

        view = (await web.get(f"/api/cycles/{handle.id}/units/unit-a")).json()
        assert view["state"]["submissions"] == [] and view["state"]["extension"] is None
        entry = view["state"]["timeline"][-1]
        assert (entry["what"], entry["by"], entry["detail"]) == ("links_revoked", "zhang", "通知被转发到外部群")
        assert entry["at"] == view["state"]["links_valid_from"] == fresh["links_valid_from"]
        unit_page = await web.get(f"/cycles/{handle.id}/units/unit-a")
        assert "撤销报送链接" in unit_page.text and "之前发出的链接已撤销" in unit_page.text

    async def test_revoke_form_needs_csrf_and_operator(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        """Leadership sees no revoke button and is refused; a form without the CSRF token changes nothing."""
        handle = await cycle_stack.open_cycle("web-revoke-form", units={"unit-a": "甲单位"})
        old = tokens(cycle_stack).portal_token(handle.id, "unit-a")
        url = f"/cycles/{handle.id}/units/unit-a/links/revoke"
        await sign_in(web, "li", LEADER_PASSWORD)
        page = await web.get(f"/cycles/{handle.id}/units/unit-a")
        assert page.status_code == 200 and "links/revoke" not in page.text and "/portal/" not in page.text
        assert (await web.post(url, data={"csrf_token": web.cookies[CSRF_COOKIE]})).status_code == 403

        await sign_in(web)
        assert (await web.post(url, data={"reason": "x"})).status_code == 403
        assert (await web.get(f"/portal/{old}")).status_code == 200

        page = await web.get(f"/cycles/{handle.id}/units/unit-a")
        assert "links/revoke" in page.text
        done = await web.post(url, data={"reason": "联络员离职", "csrf_token": web.cookies[CSRF_COOKIE]})
        assert done.status_code == 303
        assert (await web.get(f"/portal/{old}")).status_code == 403
        # The page now offers links made after the revocation, and they open.
        page = await web.get(done.headers["location"])
        shown = re.search(r'href="[^"]*(/portal/[^"]+)" data-link="portal"', page.text)
        assert shown and (await web.get(shown[1])).status_code == 200
        assert "联络员离职" in page.text

    async def test_upload_limits(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        """Wrong type, disguised content and oversize files are refused and nothing is submitted."""
        handle = await cycle_stack.open_cycle("web-limits", units={"unit-a": "甲单位"})
        token = tokens(cycle_stack).portal_token(handle.id, "unit-a")
        page = await web.get(f"/portal/{token}")
        form = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form
        cases = [
            ("evil.exe", b"MZ\x90", "not accepted"),
            ("report.pdf", b"<script>alert(1)</script>", "not a .pdf"),
            ("big.txt", b"a" * (64 * 1024 + 1), "over the limit"),
        ]
        for name, data, reason in cases:
            response = await web.post(
                f"/portal/{token}", data={"csrf_token": form[1], "title": "t"}, files=[("files", (name, data))]
            )
            assert response.status_code == 400
            assert reason in response.text
        no_csrf = await web.post(f"/portal/{token}", data={"title": "t", "text": "x"})
        assert no_csrf.status_code == 403
        view = await cycle_stack.client.get_workflow_handle(handle.id).query("get_status")
        assert view["counts"]["submitted"] == 0


class TestApi:
    async def test_api_errors_are_4xx_with_reasons(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        handle = await cycle_stack.open_cycle("web-api", units={"unit-a": "甲单位"})
        await sign_in(web)
        headers = {"X-CSRF-Token": web.cookies[CSRF_COOKIE]}
        cycles = (await web.get("/api/cycles", params={"campaign": cycle_stack.campaign})).json()
        assert handle.id in [c["cycle_id"] for c in cycles]

        no_csrf = await web.post(f"/api/cycles/{handle.id}/units/unit-a/waive", json={"reason": "x"})
        assert no_csrf.status_code == 403
        bad_date = await web.post(f"/api/cycles/{handle.id}/units/unit-a/extend", json={"due": "soon"}, headers=headers)
        assert bad_date.status_code == 422
        unknown_unit = await web.post(
            f"/api/cycles/{handle.id}/units/ghost/waive", json={"reason": "x"}, headers=headers
        )
        assert unknown_unit.status_code == 400
        assert "unknown unit" in unknown_unit.json()["detail"]
        unknown_cycle = await web.get("/api/cycles/cycle:nope:x:y:2026-Y")
        assert unknown_cycle.status_code in (400, 404)
        ok = await web.post(f"/api/cycles/{handle.id}/units/unit-a/waive", json={"reason": "免报"}, headers=headers)
        assert ok.status_code == 200
        assert "waived" in ok.json()["message"]
        spec = (await web.get("/openapi.json")).json()
        assert "/api/cycles/{cycle_id}/units/{unit_id}/submit" in spec["paths"]

    async def test_healthz_and_ledger(self, web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
        assert (await web.get("/healthz")).text == "ok"
        await cycle_stack.open_cycle("web-ledger", units={"unit-a": "甲单位"})
        await sign_in(web)
        xlsx = await web.get(f"/export/{cycle_stack.campaign}.xlsx")
        assert xlsx.status_code == 200
        assert xlsx.content[:2] == b"PK"
