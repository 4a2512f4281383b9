"""Shared by the security tests that run against the cycle stack: the in-process console app signed in as an
operator, and the links a unit's notice mail really carried."""

import asyncio
import email
import re
import uuid
from email.policy import default as default_policy

import httpx

from activities.portal_tokens import PortalTokens
from console.auth import CSRF_COOKIE
from tests.e2e.cycle_stack import CycleStack

OPERATOR, PASSWORD = "zhang", "correct horse battery"
_PORTAL = re.compile(r"https?://[^\s\"'<>]+/portal/[A-Za-z0-9_.\-]+")
_FEED = re.compile(r"https?://[^\s\"'<>]+/feed/[A-Za-z0-9_.\-]+\.ics")


def new_id(prefix: str) -> str:
    """A unit or office id no other test (or module sharing the dev server) uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def tokens(stack: CycleStack) -> PortalTokens:
    s = stack.settings
    return PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)


async def sign_in(web: httpx.AsyncClient) -> str:
    """Sign in as the operator; returns the CSRF value JSON calls send as X-CSRF-Token."""
    page = await web.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    done = await web.post("/login", data={"username": OPERATOR, "password": PASSWORD, "csrf_token": match[1]})
    assert done.status_code == 303, done.text[:300]
    return str(web.cookies.get(CSRF_COOKIE))


def path_of(url: str) -> str:
    """The path of a link, to ask the in-process app for it."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def mailed_links(stack: CycleStack, address: str, count: int, wait_s: float = 30.0) -> list[tuple[str, str]]:
    """(portal link, feed link) of every notice mailed to `address`, once `count` of them arrived."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        found: list[tuple[str, str]] = []
        for raw in stack.mail_to(address):
            msg = email.message_from_string(raw, policy=default_policy)
            part = msg.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            portal, feed = _PORTAL.search(text), _FEED.search(text)
            if portal and feed:
                found.append((portal[0], feed[0]))
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            assert len(found) >= count, f"{len(found)} notices with links reached {address}, wanted {count}"
            return found
        await asyncio.sleep(0.2)
