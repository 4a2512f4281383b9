"""Signed links for units: the portal page of one cycle, and the unit's calendar feed (and, for the
upper office, a download link for a roll-up package too large to attach to its mail).

A unit is known by (office, unit): unit ids are the office's own, so another
office's `gaj` is another unit. A portal token binds one cycle (whose id names
the office) and one unit; a feed token binds one office and one unit and is
read-only (the feed carries no portal link). Tokens expire, and can be
revoked: the office records a moment from which the unit's links count — in
the cycle (`links_valid_from`, the `revoke_links` Update, for the timeline)
and in the access store for the (office, unit) pair (global: every link of
the unit, whichever cycle; permanent: it outlives the cycle). A link made
before the later of the two is refused.

Feed tokens made before units were namespaced by office carry no office and
are refused ("ask the office for a new link"); portal tokens of that time
still open, their office being the one in their cycle id.

The signing key lives in the settings, so links are made by activities and
surfaces, never inside a workflow.
"""

import datetime as dt
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import ValidationError

from schemas.blobs import BlobRef

EXPIRED = "this link has expired; ask the office for a new one"
OLD_FEED = "this calendar link is from an older version of duban; ask the office for a new one"
REVOKED = "this link was revoked; ask the office for a new one"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class TokenError(ValueError):
    """The token is forged, expired, revoked, or made for something else."""


@dataclass(frozen=True)
class PortalGrant:
    unit_id: str
    cycle_id: str  # "" for a calendar-feed grant, which covers all of the unit's cycles in its office
    issued_at: dt.datetime
    office_id: str = ""


def office_of(cycle_id: str) -> str:
    """The office in a cycle id (`cycle:<campaign>:<office>:<obligation>:<period>`), "" if it has none."""
    parts = cycle_id.split(":")
    return parts[2] if len(parts) == 5 and parts[0] == "cycle" else ""


def _issue_stamp(not_before: dt.datetime | None) -> int:
    """The issue time a new token carries, in whole microseconds since the epoch.

    itsdangerous' own timestamp counts whole seconds, and a revocation and the
    new link the office makes right after it fall in the same second; so the
    payload carries the time to the microsecond (`workflow.now()`'s precision),
    compared exactly. `not_before` is the revocation the link is made for: a
    link made by a machine whose clock runs behind the Temporal server's still
    counts as made after it.
    """
    at = dt.datetime.now(dt.UTC)
    if not_before is not None and not_before > at:
        at = not_before
    return (at - _EPOCH) // _MICROSECOND


class PortalTokens:
    def __init__(self, secret: str, public_url: str, max_age_days: int = 30) -> None:
        self._portal = URLSafeTimedSerializer(secret, salt="duban-portal")
        self._feed = URLSafeTimedSerializer(secret, salt="duban-feed")
        self._file = URLSafeTimedSerializer(secret, salt="duban-file")
        self.public_url = public_url.rstrip("/")
        self.max_age_seconds = max_age_days * 86400

    def portal_token(self, cycle_id: str, unit_id: str, not_before: dt.datetime | None = None) -> str:
        return self._portal.dumps({"u": unit_id, "c": cycle_id, "t": _issue_stamp(not_before)})

    def feed_token(self, office_id: str, unit_id: str, not_before: dt.datetime | None = None) -> str:
        return self._feed.dumps({"o": office_id, "u": unit_id, "t": _issue_stamp(not_before)})

    def portal_link(self, cycle_id: str, unit_id: str, not_before: dt.datetime | None = None) -> str:
        return f"{self.public_url}/portal/{self.portal_token(cycle_id, unit_id, not_before)}"

    def feed_link(self, office_id: str, unit_id: str, not_before: dt.datetime | None = None) -> str:
        return f"{self.public_url}/feed/{self.feed_token(office_id, unit_id, not_before)}.ics"

    def file_link(self, ref: BlobRef) -> str:
        """A download link for one stored file (a roll-up package too large to attach to its mail):
        whoever holds the link gets that file and nothing else, until the link expires."""
        token = self._file.dumps({"s": ref.sha256, "z": ref.size, "n": ref.name, "m": ref.media_type})
        return f"{self.public_url}/files/{token}"

    def read_file(self, token: str) -> BlobRef:
        try:
            data = self._file.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise TokenError(EXPIRED) from exc
        except BadSignature as exc:
            raise TokenError("this link is not valid") from exc
        try:
            return BlobRef(sha256=data["s"], size=data["z"], name=data["n"], media_type=data["m"])
        except (KeyError, TypeError, ValidationError) as exc:
            raise TokenError("this link is not valid") from exc

    @property
    def console_link(self) -> str:
        """Where a calendar entry points: the console's door, which asks for the unit's own link."""
        return f"{self.public_url}/portal"

    def read_portal(self, token: str) -> PortalGrant:
        data, issued_at = self._load(self._portal, token)
        cycle_id = str(data.get("c", ""))
        return PortalGrant(
            unit_id=str(data["u"]), cycle_id=cycle_id, issued_at=issued_at, office_id=office_of(cycle_id)
        )

    def read_feed(self, token: str) -> PortalGrant:
        data, issued_at = self._load(self._feed, token)
        if not isinstance(data.get("o"), str) or not data["o"]:
            raise TokenError(OLD_FEED)
        return PortalGrant(unit_id=str(data["u"]), cycle_id="", issued_at=issued_at, office_id=str(data["o"]))

    def _load(self, serializer: URLSafeTimedSerializer, token: str) -> tuple[dict[str, object], dt.datetime]:
        try:
            data, signed_at = serializer.loads(token, max_age=self.max_age_seconds, return_timestamp=True)
        except SignatureExpired as exc:
            raise TokenError(EXPIRED) from exc
        except BadSignature as exc:
            raise TokenError("this link is not valid") from exc
        if not isinstance(data, dict) or "u" not in data:
            raise TokenError("this link is not valid")
        stamp = data.get("t")
        # Links made before revocation existed carry only itsdangerous' whole second: taking the
        # start of that second errs towards refusing one made in the same second as a revocation.
        issued_at = _EPOCH + stamp * _MICROSECOND if isinstance(stamp, int) else signed_at
        return data, issued_at


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    """The latest of several revocation moments (None: never revoked)."""
    return max((m for m in moments if m is not None), default=None)


def check_not_revoked(grant: PortalGrant, links_valid_from: dt.datetime | None) -> None:
    """Refuse a link made before the office revoked the unit's links (one made at that very moment opens)."""
    if links_valid_from is not None and grant.issued_at < links_valid_from:
        raise TokenError(REVOKED)
