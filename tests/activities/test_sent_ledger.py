"""The sent-ledger on the records database, on a SQLite file and on PostgreSQL (the `records` fixture)."""

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from activities.records import Records
from activities.sent_ledger import SentLedger


class TestSentLedger:
    async def test_first_record_wins_and_persists(self, records: Records) -> None:
        """Recording a key twice keeps the first row; another connection pool on the database sees it."""
        await SentLedger(records).record(["a", "b"], channel="email", message_id="<1@duban>", recipient="x")
        await SentLedger(records).record(["a"], channel="email", message_id="<2@duban>", recipient="y")
        reopened = Records(records.url)
        try:
            ledger = SentLedger(reopened)
            assert await ledger.sent_keys(["a", "b", "c"]) == {"a", "b"}
            assert await ledger.sent_keys(["a"], channel="webhook") == set()
            assert {e.key: e.message_id for e in await ledger.entries()} == {"a": "<1@duban>", "b": "<1@duban>"}
        finally:
            await reopened.dispose()

    async def test_concurrent_writers(self, records: Records) -> None:
        """200 records from four independent pools at once (one key recorded by two of them) lose nothing."""
        pools = [Records(records.url) for _ in range(4)]

        async def write(i: int) -> None:
            ledger = SentLedger(pools[i % 4])
            await ledger.record([f"k{i}", "shared"], channel="email", message_id=f"<{i}@duban>", recipient="x")

        try:
            await asyncio.gather(*(write(i) for i in range(200)))
        finally:
            for pool in pools:
                await pool.dispose()
        ledger = SentLedger(records)
        assert len(await ledger.sent_keys(f"k{i}" for i in range(200))) == 200
        shared = [e for e in await ledger.entries() if e.key == "shared"]
        assert len(shared) == 1, "a key is recorded once, by whichever attempt committed first"

    async def test_large_lookups_and_scopes(self, records: Records) -> None:
        """Lookups beyond SQLite's parameter limit are chunked; entries() filters by scope, oldest first."""
        ledger = SentLedger(records)
        keys = [f"k{i}" for i in range(1500)]
        await ledger.record(keys, channel="email", message_id="<d@duban>", recipient="x", scope="cycle-1")
        await ledger.record(["late"], channel="email", message_id="<l@duban>", recipient="x", scope="cycle-2")
        assert await ledger.sent_keys([*keys, "other"]) == set(keys)
        assert [e.key for e in await ledger.entries("cycle-2")] == ["late"]
        entries = await ledger.entries()
        assert entries[-1].key == "late"
        assert all(e.sent_at.tzinfo is not None for e in entries)

    async def test_empty_record_is_nothing(self, records: Records) -> None:
        """A message with no keys records nothing (and does not fail)."""
        ledger = SentLedger(records)
        await ledger.record([], channel="email", message_id="<x@duban>", recipient="x")
        assert await ledger.entries() == []


async def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    """The default file is in WAL mode, so readers in other processes never block the writer."""
    records = Records.in_file(tmp_path / "records.db")
    await SentLedger(records).record(["a"], channel="email", message_id="<1@duban>", recipient="x")
    await records.dispose()
    with contextlib.closing(sqlite3.connect(tmp_path / "records.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT key FROM sent").fetchall() == [("a",)]
