"""Bearer credentials for the codec endpoint: their own secrets, several valid at once, each may expire.

`DUBAN_CODEC_TOKENS` = "name:token[:YYYY-MM-DD],..." (commas or newlines). A
token is at least 32 characters (make one with
`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`);
the date is the last day it is accepted. To rotate, add the new credential,
move the UI/CLI to it, then remove the old one (or let its date pass). Nothing
here is derived from DUBAN_SECRET_KEY: a leaked link-signing secret does not
open the codec, and a leaked codec token does not sign links.
"""

import datetime as dt
import hmac
import re
from dataclasses import dataclass

MIN_TOKEN_CHARS = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SOURCE = "DUBAN_CODEC_TOKENS"


class CodecCredentialError(ValueError):
    """The configured credentials are unusable; the message names the entry, never the token."""


@dataclass(frozen=True)
class CodecCredential:
    name: str
    token: bytes
    expires: dt.date | None

    def __repr__(self) -> str:
        return f"CodecCredential(name={self.name!r}, expires={self.expires})"

    def valid_on(self, day: dt.date) -> bool:
        return self.expires is None or day <= self.expires


def parse_codec_tokens(text: str) -> list[CodecCredential]:
    found: list[CodecCredential] = []
    for number, raw in enumerate(re.split(r"[,\n]", text), start=1):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        name, _, rest = item.partition(":")
        token, _, expires = rest.partition(":")
        label = repr(name) if _NAME.fullmatch(name) else f"entry {number}"
        if not _NAME.fullmatch(name) or not token:
            raise CodecCredentialError(f"{SOURCE}: {label} must be 'name:token[:YYYY-MM-DD]'")
        if len(token) < MIN_TOKEN_CHARS:
            raise CodecCredentialError(
                f"{SOURCE}: the token of {label} must have at least {MIN_TOKEN_CHARS} characters"
            )
        try:
            until = dt.date.fromisoformat(expires) if expires else None
        except ValueError:
            raise CodecCredentialError(f"{SOURCE}: the expiry of {label} is not a date (YYYY-MM-DD)") from None
        if any(c.name == name for c in found):
            raise CodecCredentialError(f"{SOURCE}: {label} is listed twice")
        found.append(CodecCredential(name, token.encode(), until))
    return found


class CodecCredentials:
    """The accepted bearer tokens; `None` text means no bearer access (operator sessions only)."""

    def __init__(self, text: str | None) -> None:
        self._all = parse_codec_tokens(text) if text else []

    def accepts(self, token: str, today: dt.date | None = None) -> bool:
        day = today or dt.datetime.now(dt.UTC).date()
        sent = token.encode()
        # Compare against every credential, so the time taken does not tell which one matched.
        matched = [hmac.compare_digest(sent, c.token) and c.valid_on(day) for c in self._all]
        return any(matched)
