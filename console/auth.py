"""Operator sign-in for the web console: password hashes, signed sessions, CSRF tokens, rate limits.

- Operators (may act) and leaders (read only) come from the settings as
  `user -> hash`; `duban user hash-password` makes a hash. Hashes are scrypt:
  `scrypt$<n>$<r>$<p>$<salt b64>$<key b64>`.
- In development with no operators configured, user `admin` signs in with the
  password in `<data_dir>/admin-password` (generated once, mode 0600).
- The session is a cookie signed with the secret key (HttpOnly, SameSite=Lax,
  Secure unless it is a development stack on plain http), valid 12 hours.
- Every form carries a CSRF token tied to a per-browser cookie (double submit,
  compared in constant time); JSON calls send it as `X-CSRF-Token`.
- Five failed sign-ins per user and address within a minute lock that pair for the rest of the minute.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from workers.settings import Settings

SESSION_COOKIE = "duban_session"
CSRF_COOKIE = "duban_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
DEV_ADMIN = "admin"

# scrypt cost: 2^14 × 8 × 1 needs 16 MiB and ~50 ms; enough for a handful of office accounts.
_N, _R, _P = 2**14, 8, 1


class Role(StrEnum):
    OPERATOR = "operator"  # office staff: may act
    LEADER = "leader"  # leadership: may look


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def may_act(self) -> bool:
        return self.role is Role.OPERATOR


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def dev_admin_password(settings: Settings) -> str:
    """The development stack's `admin` password: generated on first use, kept in the data directory."""
    path = settings.data_dir / "admin-password"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    return password


class SignInLimiter:
    """At most `limit` failures per (user, address) within `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        stamps = self._failures[key]
        cutoff = time.monotonic() - self.window
        while stamps and stamps[0] < cutoff:
            stamps.popleft()
        return stamps

    def blocked(self, user: str, address: str) -> bool:
        return len(self._recent((user, address))) >= self.limit

    def failed(self, user: str, address: str) -> None:
        self._recent((user, address)).append(time.monotonic())

    def succeeded(self, user: str, address: str) -> None:
        self._failures.pop((user, address), None)


class Auth:
    """Sign-in, sessions and CSRF for one console, built from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.secret_key.get_secret_value()
        self._sessions = URLSafeTimedSerializer(secret, salt="duban-session")
        self.limiter = SignInLimiter()
        self.secure_cookies = not (settings.environment == "development" and settings.public_url.startswith("http:"))

    def _accounts(self) -> dict[str, tuple[str, Role]]:
        accounts = {name: (h, Role.LEADER) for name, h in self.settings.leaders.items()}
        accounts.update({name: (h, Role.OPERATOR) for name, h in self.settings.operators.items()})
        return accounts

    def dev_admin_enabled(self) -> bool:
        return not self.settings.operators and self.settings.environment == "development"

    def check_password(self, user: str, password: str) -> User | None:
        if self.dev_admin_enabled() and user == DEV_ADMIN:
            ok = hmac.compare_digest(password.encode(), dev_admin_password(self.settings).encode())
            return User(DEV_ADMIN, Role.OPERATOR) if ok else None
        account = self._accounts().get(user)
        if account is None:
            # Spend the same time as a real check, so timing does not tell which users exist.
            verify_password(password, _DUMMY_HASH)
            return None
        stored, role = account
        return User(user, role) if verify_password(password, stored) else None

    def session_cookie(self, user: User) -> str:
        return self._sessions.dumps({"u": user.name, "r": user.role.value})

    def read_session(self, cookie: str | None) -> User | None:
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=SESSION_SECONDS)
            name, role = str(data["u"]), Role(data["r"])
        except (BadSignature, KeyError, ValueError, TypeError):
            return None
        # A user removed from the settings loses access at once, whatever their cookie says.
        if name == DEV_ADMIN and self.dev_admin_enabled():
            return User(name, role)
        account = self._accounts().get(name)
        if account is None or account[1] is not role:
            return None
        return User(name, role)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))


_DUMMY_HASH = hash_password("not a password")


def admin_password_path(settings: Settings) -> Path:
    return settings.data_dir / "admin-password"
