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
- Sign-in limits (`SignInLimiter`), counted in a store every console replica
  shares (`console.access_store`): 20 failures per client address a minute,
  whatever user names it tries; 5 per known account and address a minute; 50
  per known account in ten minutes from all addresses together. Unknown user
  names count only against the address, so inventing names grows nothing.
  The address is the real client's behind a trusted proxy (`DUBAN_TRUSTED_PROXIES`).
- Password hashing (scrypt, ~70 ms of CPU) runs on its own thread, one at a
  time; when more than a few sign-ins already wait, the next is answered
  "busy" at once. The event loop — and so the unit portal, the codec and the
  API — keeps answering while /login is flooded.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from activities.records import Records
from console.access_store import FailureStore, MemoryAccessStore, RecordsAccessStore, now
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


# (key kind, failures allowed, within seconds)
ADDRESS_LIMIT = (20, 60.0)
ACCOUNT_AT_ADDRESS_LIMIT = (5, 60.0)
ACCOUNT_LIMIT = (50, 600.0)
# One scrypt at a time: sign-in takes at most one core, however many arrive.
HASH_THREADS = 1
# Sign-ins allowed to wait for the hashing thread; the next ones are told "busy" without hashing.
MAX_WAITING = 8
# A refused attempt (locked or busy) is answered after this pause: a script hammering /login waits
# instead of spinning, and the pause costs the console nothing but an idle coroutine.
REFUSAL_PAUSE_SECONDS = 0.5
HASH_THREAD_NICE = 10


class SignInLimiter:
    """Failed sign-ins per client address and per known account, in a (possibly shared) store.

    `account` is the account name when the user name is one of ours, else None: unknown names are
    counted against the address only, so they add no keys."""

    def __init__(self, store: FailureStore) -> None:
        self.store = store

    @staticmethod
    def _rules(account: str | None, address: str) -> list[tuple[str, int, float]]:
        rules = [(f"addr:{address}", *ADDRESS_LIMIT)]
        if account is not None:
            rules.append((f"pair:{account}|{address}", *ACCOUNT_AT_ADDRESS_LIMIT))
            rules.append((f"acct:{account}", *ACCOUNT_LIMIT))
        return rules

    async def blocked(self, account: str | None, address: str) -> bool:
        at = now()
        for key, limit, window in self._rules(account, address):
            if await self.store.count_since(key, at - window) >= limit:
                return True
        return False

    async def failed(self, account: str | None, address: str) -> None:
        at = now()
        for key, _, _ in self._rules(account, address):
            await self.store.add(key, at)

    async def succeeded(self, account: str | None, address: str) -> None:
        # The operator got in from here: their own typos at this address are forgiven.
        if account is not None:
            await self.store.clear(f"pair:{account}|{address}")

    async def size(self) -> int:
        return await self.store.size()


def _lower_thread_priority() -> None:
    """The hashing thread yields the CPU to the event loop (and the rest of the machine) when both want it.

    Linux schedules threads as tasks, so a thread's own nice value applies to it alone; raising it needs
    no privilege. Elsewhere this is a no-op."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICE)


class SignIn(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # 401
    LOCKED = "locked"  # 429: too many failures
    BUSY = "busy"  # 503: too many sign-ins waiting for the hashing thread


def failure_store(settings: Settings, records: Records) -> FailureStore:
    """Memory for one process (development default), else the records database every replica shares."""
    kind = settings.access_store or ("memory" if settings.environment == "development" else "records")
    if kind == "memory":
        return MemoryAccessStore()
    return RecordsAccessStore(records)


class Auth:
    """Sign-in, sessions and CSRF for one console, built from the settings."""

    def __init__(self, settings: Settings, records: Records) -> None:
        self.settings = settings
        secret = settings.secret_key.get_secret_value()
        self._sessions = URLSafeTimedSerializer(secret, salt="duban-session")
        self.limiter = SignInLimiter(failure_store(settings, records))
        self._hasher = ThreadPoolExecutor(
            max_workers=HASH_THREADS, thread_name_prefix="duban-scrypt", initializer=_lower_thread_priority
        )
        self._waiting = 0
        self.secure_cookies = not (settings.environment == "development" and settings.public_url.startswith("http:"))

    def _accounts(self) -> dict[str, tuple[str, Role]]:
        accounts = {name: (h, Role.LEADER) for name, h in self.settings.leaders.items()}
        accounts.update({name: (h, Role.OPERATOR) for name, h in self.settings.operators.items()})
        return accounts

    def dev_admin_enabled(self) -> bool:
        return not self.settings.operators and self.settings.environment == "development"

    def account_of(self, user: str) -> str | None:
        """The account this user name names, or None for a name nobody has."""
        if (self.dev_admin_enabled() and user == DEV_ADMIN) or user in self._accounts():
            return user
        return None

    async def sign_in(self, user: str, password: str, address: str) -> tuple[SignIn, User | None]:
        """Check a sign-in against the limits, hashing off the event loop; records the outcome."""
        account = self.account_of(user)
        if await self.limiter.blocked(account, address):
            await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
            return SignIn.LOCKED, None
        if self._waiting >= MAX_WAITING:
            await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
            return SignIn.BUSY, None
        self._waiting += 1
        try:
            found = await asyncio.get_running_loop().run_in_executor(self._hasher, self.check_password, user, password)
        finally:
            self._waiting -= 1
        if found is None:
            await self.limiter.failed(account, address)
            return SignIn.WRONG, None
        await self.limiter.succeeded(account, address)
        return SignIn.OK, found

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
