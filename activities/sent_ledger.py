"""The sent-ledger: which notification keys have already gone out, on which channel.

It is what makes mail delivery idempotent across activity retries, worker
restarts and re-runs after a crash: a key recorded here is never sent again.
It lives in the records database (activities/records.py), so every worker
process — on one host with the SQLite default, on many with PostgreSQL — sees
the same ledger; each write is one short transaction.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from activities.records import Records
from activities.records_schema import aware, sent, utc

# Look keys up in chunks: SQLite caps bound parameters per statement, PostgreSQL at 32,767.
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
    """The `sent` table of the records database."""

    def __init__(self, records: Records) -> None:
        self.records = records
        # DO NOTHING: a concurrent attempt that recorded first keeps its row. Built once: one
        # compiled statement for every message (compiling it per message cost milliseconds).
        self._insert = records.insert(sent).on_conflict_do_nothing(index_elements=["channel", "key"])

    async def sent_keys(self, keys: Iterable[str], channel: str = "email") -> set[str]:
        """The subset of `keys` already recorded for `channel`."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        async with self.records.begin() as db:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows = await db.execute(select(sent.c.key).where(sent.c.channel == channel, sent.c.key.in_(chunk)))
                found.update(rows.scalars())
        return found

    async def was_sent(self, key: str, channel: str = "email") -> bool:
        return key in await self.sent_keys([key], channel)

    async def record(
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
        moment = utc(sent_at or datetime.now(UTC))
        rows = [
            {"channel": channel, "key": key, "message_id": message_id, "recipient": recipient, "scope": scope,
             "sent_at": moment}
            for key in dict.fromkeys(keys)
        ]  # fmt: skip
        if not rows:
            return
        async with self.records.begin() as db:
            await db.execute(self._insert, rows)

    async def entries(self, scope: str | None = None) -> list[SentEntry]:
        """Everything recorded (for one scope if given), oldest first."""
        query = select(sent).order_by(sent.c.sent_at, sent.c.key)
        if scope is not None:
            query = query.where(sent.c.scope == scope)
        async with self.records.begin() as db:
            rows = (await db.execute(query)).all()
        return [
            SentEntry(
                channel=r.channel,
                key=r.key,
                message_id=r.message_id,
                recipient=r.recipient,
                scope=r.scope,
                sent_at=aware(r.sent_at),
            )
            for r in rows
        ]
