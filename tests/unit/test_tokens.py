"""Signed unit links: which issue time a token carries, and the rule that refuses a revoked one."""

import datetime as dt

import pytest
from itsdangerous import URLSafeTimedSerializer

from activities.portal_tokens import REVOKED, PortalTokens, TokenError, check_not_revoked

SECRET = "test-secret"


@pytest.fixture
def tokens() -> PortalTokens:
    return PortalTokens(SECRET, "http://127.0.0.1:8000")


class TestRevocation:
    def test_a_link_made_right_after_a_revocation_opens(self, tokens: PortalTokens) -> None:
        """Within the same second as the revocation: whole-second timestamps would refuse it."""
        revoked_at = dt.datetime.now(dt.UTC)
        grant = tokens.read_portal(tokens.portal_token("cycle:c", "u1"))
        assert grant.issued_at >= revoked_at
        assert grant.issued_at - revoked_at < dt.timedelta(seconds=1)
        check_not_revoked(grant, revoked_at)
        check_not_revoked(grant, grant.issued_at)  # made at the very moment: "before" it is not

    def test_a_link_made_before_a_revocation_is_refused(self, tokens: PortalTokens) -> None:
        """One microsecond earlier is enough, for the portal and the feed alike."""
        for grant in (
            tokens.read_portal(tokens.portal_token("cycle:c", "u1")),
            tokens.read_feed(tokens.feed_token("o1", "u1")),
        ):
            with pytest.raises(TokenError, match=REVOKED):
                check_not_revoked(grant, grant.issued_at + dt.timedelta(microseconds=1))
            check_not_revoked(grant, None)

    def test_not_before_covers_a_clock_behind_the_servers(self, tokens: PortalTokens) -> None:
        """A revocation stamped by a server five minutes ahead: a link made for it opens, a plain one does not."""
        server_now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        plain = tokens.read_portal(tokens.portal_token("cycle:c", "u1"))
        made_for = tokens.read_portal(tokens.portal_token("cycle:c", "u1", not_before=server_now))
        with pytest.raises(TokenError, match=REVOKED):
            check_not_revoked(plain, server_now)
        check_not_revoked(made_for, server_now)
        feed = tokens.read_feed(
            tokens.feed_link("o1", "u1", not_before=server_now).rsplit("/", 1)[1].removesuffix(".ics")
        )
        check_not_revoked(feed, server_now)

    def test_links_made_before_this_change_still_open_and_can_be_revoked(self, tokens: PortalTokens) -> None:
        """A token without its own issue time counts from the start of its itsdangerous second."""
        legacy = URLSafeTimedSerializer(SECRET, salt="duban-portal").dumps({"u": "u1", "c": "cycle:c"})
        grant = tokens.read_portal(legacy)
        assert (grant.unit_id, grant.cycle_id) == ("u1", "cycle:c")
        assert grant.issued_at.microsecond == 0 and grant.issued_at.tzinfo is not None
        check_not_revoked(grant, None)
        check_not_revoked(grant, grant.issued_at)
        with pytest.raises(TokenError, match=REVOKED):
            check_not_revoked(grant, grant.issued_at + dt.timedelta(milliseconds=500))

    def test_the_issue_time_is_signed(self, tokens: PortalTokens) -> None:
        """Another key's token with a later issue time is refused as invalid, not read."""
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        forged = PortalTokens("another-secret", "http://x").portal_token("cycle:c", "u1", not_before=later)
        with pytest.raises(TokenError, match="not valid"):
            tokens.read_portal(forged)
