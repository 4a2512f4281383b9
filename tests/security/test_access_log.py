"""The console's access log never carries a unit's bearer token (issue 21, item 4)."""

import secrets
from pathlib import Path

import httpx

from tests.security.console_process import base_env, console_process
from workers.dev.ports import free_port


def test_access_log_redacts_portal_and_feed_tokens(tmp_path: Path) -> None:
    """`duban console` logs each request at INFO; the portal and feed paths appear without their token."""
    # Nothing listens on this port: the console answers without a Temporal server behind it.
    env = base_env(tmp_path / "var", DUBAN_LOG_LEVEL="INFO", DUBAN_TEMPORAL__ADDRESS=f"127.0.0.1:{free_port()}")
    portal = f"eyJ1IjoidW5pdC1hIn0.{secrets.token_urlsafe(8)}.{secrets.token_urlsafe(20)}"
    feed = f"eyJ1IjoidW5pdC1iIn0.{secrets.token_urlsafe(8)}.{secrets.token_urlsafe(20)}"
    forged = "eyJ1IjoidW5pdC1hIn0.forgedSIGNATUREpart123"
    with console_process(env, tmp_path / "log") as running:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            # The answers do not matter here (no Temporal behind this console); the log lines do.
            client.get(f"/portal/{portal}")
            client.post(f"/portal/{portal}/extension", data={"wanted": "2026-01-01", "reason": "x"})
            client.get(f"/feed/{feed}.ics")
            client.get(f"/portal/{forged}")
            client.get("/login")
        log = running.log()
    assert '"GET /login' in log or "GET /login" in log, "the access log is on: the control request was logged"
    assert "/portal/" in log and "/feed/" in log, "the requests were logged, with the token cut out"
    for token in (portal, feed, forged):
        assert token not in log
        # Not even the signature part alone (the part after the last dot).
        assert token.rsplit(".", 1)[-1] not in log
