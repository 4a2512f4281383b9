"""Sign-in cannot be used to take the console down or to lock operators out from anywhere (issue 21, item 2):
a limiter per client address and per account with bounded memory, shared by console replicas, and the
real client address behind the trusted proxy only."""

import random
import re
import uuid
from pathlib import Path

import httpx

from console.web.app import create_app
from tests.security.console_process import console_process, production_env
from workers.settings import Settings

# The password check is the expensive part (scrypt); cheap hashes keep these tests about the limits.


def attempt(client: httpx.Client, user: str, forwarded_for: str | None = None) -> int:
    """One failed sign-in with a fresh CSRF pair, as a script hammering /login would make it."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    # The cookie is Secure outside development; a browser on https sends it back, this http client is told to.
    headers = {"Cookie": f"duban_csrf={match[1]}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    client.cookies.clear()
    done = client.post(
        "/login", data={"username": user, "password": "wrong-password", "csrf_token": match[1]}, headers=headers
    )
    return done.status_code


def random_address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"  # noqa: S311 -- test data


class TestLimiter:
    async def test_unknown_user_names_do_not_grow_it(self, settings: Settings) -> None:
        """100,000 failures with fresh user names from 20,000 addresses leave the limiter bounded."""
        limiter = create_app(settings).state.console.auth.limiter
        for i in range(100_000):
            await limiter.failed(None, f"10.{i % 20_000 // 256}.{i % 256}.1")
        assert await limiter.size() <= 20_000
        for _ in range(50_000):
            await limiter.failed(None, "192.0.2.1")
        assert await limiter.size() <= 20_001
        assert await limiter.blocked(None, "192.0.2.1")
        assert not await limiter.blocked(None, "192.0.2.2")

    def test_one_address_is_stopped_whatever_names_it_tries(self, tmp_path: Path) -> None:
        """A client trying a new user name each time is refused (429) once its address has failed too often;
        trying through a forged X-Forwarded-For does not help when the peer is not a trusted proxy."""
        env = production_env(tmp_path / "var", DUBAN_TRUSTED_PROXIES="10.0.0.0/8")
        with console_process(env, tmp_path / "log") as running, httpx.Client(base_url=running.url, timeout=30) as c:
            codes = [attempt(c, f"guess-{uuid.uuid4().hex[:8]}", random_address()) for _ in range(30)]
        assert codes[0] == 401
        assert codes[-1] == 429, codes
        assert codes.count(401) <= 20, codes

    def test_behind_the_trusted_proxy_each_client_has_its_own_address(self, tmp_path: Path) -> None:
        """With the proxy trusted, one client locking itself out leaves another client (and the operator) free."""
        env = production_env(tmp_path / "var", DUBAN_TRUSTED_PROXIES="127.0.0.1")
        with console_process(env, tmp_path / "log") as running, httpx.Client(base_url=running.url, timeout=30) as c:
            codes = [attempt(c, f"guess-{i}", "198.51.100.7") for i in range(30)]
            assert codes[-1] == 429, codes
            assert attempt(c, "zhang", "198.51.100.8") == 401, "another client is not locked out"

    def test_replicas_share_the_limiter(self, tmp_path: Path) -> None:
        """Two consoles on one data directory: failures counted by one refuse the address at the other."""
        env = production_env(tmp_path / "var")
        with (
            console_process(env, tmp_path / "log-a") as first,
            console_process(env, tmp_path / "log-b") as second,
            httpx.Client(base_url=first.url, timeout=30) as a,
            httpx.Client(base_url=second.url, timeout=30) as b,
        ):
            codes = [attempt(a, f"guess-{i}", "198.51.100.9") for i in range(25)]
            assert codes[-1] == 429, codes
            assert attempt(b, "other-name", "198.51.100.9") == 429
            assert attempt(b, "other-name", "198.51.100.10") == 401
