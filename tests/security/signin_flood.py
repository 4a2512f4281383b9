"""A sign-in flood, run as its own process so it does not share an event loop (or a GIL) with the probe:

    python -m tests.security.signin_flood URL SECONDS CONCURRENCY

Each of CONCURRENCY tasks gets one CSRF pair from GET /login, then posts wrong passwords for random user
names as fast as the console answers, each through the trusted proxy with a different client address (a
distributed attack the per-address limit cannot stop). Prints one JSON line: status code counts.
"""

import asyncio
import json
import random
import re
import sys
import time
import uuid
from collections import Counter

import httpx


async def attacker(client: httpx.AsyncClient, until: float, counts: Counter[str]) -> None:
    page = await client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    csrf = match[1]
    while time.monotonic() < until:
        address = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"  # noqa: S311 -- test data
        try:
            done = await client.post(
                "/login",
                data={"username": uuid.uuid4().hex[:10], "password": "wrong-password", "csrf_token": csrf},
                headers={"X-Forwarded-For": address, "Cookie": f"duban_csrf={csrf}"},
            )
            counts[str(done.status_code)] += 1
        except httpx.HTTPError as err:
            counts[type(err).__name__] += 1


async def main(url: str, seconds: float, concurrency: int) -> None:
    until = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(attacker(client, until, counts) for _ in range(concurrency)))
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
