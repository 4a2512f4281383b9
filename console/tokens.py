"""Signed links for units: the portal page of one cycle, and the unit's calendar feed.

A token binds exactly one unit (and, for the portal, one cycle) and expires;
the signing key lives in the settings, so links are made by activities and
surfaces, never inside a workflow.
"""

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(ValueError):
    """The token is forged, expired, or made for something else."""


@dataclass(frozen=True)
class PortalGrant:
    unit_id: str
    cycle_id: str  # "" for a calendar-feed grant, which covers all of a unit's cycles


class PortalTokens:
    def __init__(self, secret: str, public_url: str, max_age_days: int = 30) -> None:
        self._portal = URLSafeTimedSerializer(secret, salt="duban-portal")
        self._feed = URLSafeTimedSerializer(secret, salt="duban-feed")
        self.public_url = public_url.rstrip("/")
        self.max_age_seconds = max_age_days * 86400

    def portal_token(self, cycle_id: str, unit_id: str) -> str:
        return self._portal.dumps({"u": unit_id, "c": cycle_id})

    def feed_token(self, unit_id: str) -> str:
        return self._feed.dumps({"u": unit_id})

    def portal_link(self, cycle_id: str, unit_id: str) -> str:
        return f"{self.public_url}/portal/{self.portal_token(cycle_id, unit_id)}"

    def feed_link(self, unit_id: str) -> str:
        return f"{self.public_url}/feed/{self.feed_token(unit_id)}.ics"

    def read_portal(self, token: str) -> PortalGrant:
        data = self._load(self._portal, token)
        return PortalGrant(unit_id=str(data["u"]), cycle_id=str(data["c"]))

    def read_feed(self, token: str) -> PortalGrant:
        data = self._load(self._feed, token)
        return PortalGrant(unit_id=str(data["u"]), cycle_id="")

    def _load(self, serializer: URLSafeTimedSerializer, token: str) -> dict[str, object]:
        try:
            data = serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise TokenError("this link has expired; ask the office for a new one") from exc
        except BadSignature as exc:
            raise TokenError("this link is not valid") from exc
        if not isinstance(data, dict) or "u" not in data:
            raise TokenError("this link is not valid")
        return data
