"""The sent-ledger: which notification keys have already gone out, on which channel.

It is what makes mail delivery idempotent across activity retries, worker
restarts and re-runs after a crash: a key recorded here is never sent again.
SQLite in WAL mode, so several worker processes on one host can share the
file; each write is one short transaction.
"""

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    channel    TEXT NOT NULL,
    key        TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    scope      TEXT NOT NULL DEFAULT '',
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (channel, key)
) WITHOUT ROWID
"""

# SQLite caps bound parameters per statement; look keys up in chunks below it.
_CHUNK = 500


@dataclass(frozen=True)
class SentEntry:
    channel: str
    key: str
    message_id: str
    recipient: str
    scope: str
    sent_at: datetime


class SentLedger:
    """A SQLite file (e.g. `var/sent-ledger.sqlite`) safe for concurrent processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._db()
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        # One connection per thread, kept open: closing the last connection to a WAL database
        # checkpoints it, and doing that after every message was a third of a worker's CPU in a
        # large fan-out (bench/README.md). Each write is still its own committed transaction.
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def sent_keys(self, keys: Iterable[str], channel: str = "email") -> set[str]:
        """The subset of `keys` already recorded for `channel`."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        db = self._db()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT key FROM sent WHERE channel = ? AND key IN ({marks})",  # noqa: S608 - only placeholders
                [channel, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def was_sent(self, key: str, channel: str = "email") -> bool:
        return key in self.sent_keys([key], channel)

    def record(
        self,
        keys: Iterable[str],
        *,
        channel: str,
        message_id: str,
        recipient: str,
        scope: str = "",
        sent_at: datetime | None = None,
    ) -> None:
        """Record that one message carrying `keys` was accepted; all keys commit together or none do."""
        moment = (sent_at or datetime.now(UTC)).astimezone(UTC).isoformat()
        rows = [(channel, key, message_id, recipient, scope, moment) for key in dict.fromkeys(keys)]
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            # OR IGNORE: a concurrent attempt that recorded first keeps its row.
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def entries(self, scope: str | None = None) -> list[SentEntry]:
        """Everything recorded (for one scope if given), oldest first."""
        query = "SELECT channel, key, message_id, recipient, scope, sent_at FROM sent"
        params: list[str] = []
        if scope is not None:
            query += " WHERE scope = ?"
            params.append(scope)
        db = self._db()
        rows = db.execute(query + " ORDER BY sent_at, key", params).fetchall()
        return [
            SentEntry(channel=c, key=k, message_id=m, recipient=r, scope=s, sent_at=datetime.fromisoformat(t))
            for c, k, m, r, s, t in rows
        ]
