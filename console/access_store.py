"""What every console replica must agree on about access: failed sign-ins, and revoked unit links.

Two stores behind one interface:

- `MemoryAccessStore`: one process (the `duban dev` console, tests). Bounded:
  at most `MAX_KEYS` keys (least recently failed dropped first), each with at
  most `MAX_STAMPS` recent failures.
- `SqliteAccessStore`: a SQLite file in the data directory (`access.db`),
  shared by every console that mounts it (the deploy's shared volume). Rows
  older than the longest window are deleted as new ones arrive, and the
  table never holds more than `MAX_ROWS`.

Revoked links are kept in the SQLite file whichever store the limiter uses: a
revocation must outlive a restart and reach every replica and the CLI.
Methods block (SQLite): async callers run them in a thread.
"""

import datetime as dt
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Protocol

MAX_KEYS = 20_000
MAX_STAMPS = 64
MAX_ROWS = 200_000
KEEP_SECONDS = 3600.0
FILE_NAME = "access.db"


class FailureStore(Protocol):
    def count_since(self, key: str, since: float) -> int: ...
    def add(self, key: str, at: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def __len__(self) -> int: ...


class MemoryAccessStore:
    """Failures in this process only; bounded whatever names and addresses arrive."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._stamps: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def count_since(self, key: str, since: float) -> int:
        with self._lock:
            return sum(1 for at in self._stamps.get(key, ()) if at >= since)

    def add(self, key: str, at: float) -> None:
        with self._lock:
            stamps = self._stamps.pop(key, None) or deque(maxlen=MAX_STAMPS)
            stamps.append(at)
            self._stamps[key] = stamps  # most recent last
            while len(self._stamps) > self.max_keys:
                self._stamps.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._stamps.pop(key, None)

    def __len__(self) -> int:
        return len(self._stamps)


class _Sqlite:
    """One short connection per call: safe from any thread, and from several processes (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path, timeout=10.0, isolation_level=None) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at)")
            db.execute("CREATE INDEX IF NOT EXISTS failures_at ON failures (at)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS revocations "
                "(office TEXT NOT NULL, unit TEXT NOT NULL, valid_from TEXT NOT NULL, PRIMARY KEY (office, unit))"
            )

    def _connect(self) -> sqlite3.Connection:
        # Created on first use, so building a console touches no file until someone signs in or revokes.
        if not self._ready:
            self._create()
            self._ready = True
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        return db


class SqliteAccessStore(_Sqlite):
    """Failures shared by every console on the same data directory."""

    def count_since(self, key: str, since: float) -> int:
        with self._connect() as db:
            row = db.execute("SELECT count(*) FROM failures WHERE key = ? AND at >= ?", (key, since)).fetchone()
        return int(row[0])

    def add(self, key: str, at: float) -> None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO failures (key, at) VALUES (?, ?)", (key, at))
            db.execute("DELETE FROM failures WHERE at < ?", (at - KEEP_SECONDS,))
            db.execute(
                "DELETE FROM failures WHERE rowid IN (SELECT rowid FROM failures ORDER BY at DESC LIMIT -1 OFFSET ?)",
                (MAX_ROWS,),
            )
            db.execute("COMMIT")

    def clear(self, key: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT count(DISTINCT key) FROM failures").fetchone()[0])


class RevocationStore(_Sqlite):
    """The moment from which a unit's links count, per (office, unit); it only ever moves forward."""

    def revoke(self, office_id: str, unit_id: str, valid_from: dt.datetime) -> None:
        # One fixed-width format, so SQLite's max() of two texts is the later moment.
        stamp = valid_from.astimezone(dt.UTC).isoformat(timespec="microseconds")
        with self._connect() as db:
            db.execute(
                "INSERT INTO revocations (office, unit, valid_from) VALUES (?, ?, ?) "
                "ON CONFLICT (office, unit) DO UPDATE SET valid_from = max(valid_from, excluded.valid_from)",
                (office_id, unit_id, stamp),
            )

    def valid_from(self, office_id: str, unit_id: str) -> dt.datetime | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT valid_from FROM revocations WHERE office = ? AND unit = ?", (office_id, unit_id)
            ).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row else None


def now() -> float:
    """Wall-clock seconds: replicas on different machines compare stamps, so not a monotonic clock."""
    return time.time()
