"""The files the records database replaces, brought into it once.

Before issue 18 the data directory held the sent-ledger (`sent-ledger.sqlite`),
the link revocations (`access.db`) and the started plans (`campaigns/*.json`).
A data directory upgraded from then must keep them: a notice recorded there
must not go out again, a revoked link must stay revoked. Each file is copied
into the records database (rows already there win) and renamed `*.imported`,
so it is read once and nobody mistakes it for the live one.
"""

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import Table

from activities.records import Records
from activities.records_schema import campaigns, link_revocations, sent, utc

SENT_FILE = "sent-ledger.sqlite"
ACCESS_FILE = "access.db"
CAMPAIGN_DIR = "campaigns"


def _rows(path: Path, query: str) -> list[tuple[str, ...]]:
    # Closing the last connection checkpoints the WAL, so the file is whole before it is renamed.
    with contextlib.closing(sqlite3.connect(path)) as db:
        try:
            return list(db.execute(query))
        except sqlite3.OperationalError:  # a file without that table: nothing to bring
            return []


def _retire(path: Path) -> None:
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    path.rename(path.with_name(path.name + ".imported"))


async def import_legacy_files(records: Records, data_dir: Path) -> dict[str, int]:
    """Rows brought in per kind (empty when there was nothing to import)."""
    found: dict[str, int] = {}
    ledger = data_dir / SENT_FILE
    if ledger.is_file():
        query = "SELECT channel, key, message_id, recipient, scope, sent_at FROM sent"
        columns = ("channel", "key", "message_id", "recipient", "scope")
        rows = [
            {**dict(zip(columns, row[:5], strict=True)), "sent_at": utc(dt.datetime.fromisoformat(row[5]))}
            for row in _rows(ledger, query)
        ]
        await _insert(records, sent, rows, ["channel", "key"])
        found["sent"] = len(rows)
        _retire(ledger)
    access = data_dir / ACCESS_FILE
    if access.is_file():
        rows = [
            {"office": o, "unit": u, "valid_from": utc(dt.datetime.fromisoformat(v))}
            for o, u, v in _rows(access, "SELECT office, unit, valid_from FROM revocations")
        ]
        await _insert(records, link_revocations, rows, ["office", "unit"])
        found["link_revocations"] = len(rows)
        _retire(access)
    plans = data_dir / CAMPAIGN_DIR
    if plans.is_dir():
        now = utc(dt.datetime.now(dt.UTC))
        rows = [{"id": p.stem, "plan": p.read_text(encoding="utf-8"), "saved_at": now} for p in plans.glob("*.json")]
        await _insert(records, campaigns, rows, ["id"])
        found["campaigns"] = len(rows)
        plans.rename(plans.with_name(CAMPAIGN_DIR + ".imported"))
    return found


async def _insert(records: Records, table: Table, rows: list[dict[str, object]], keys: list[str]) -> None:
    if not rows:
        return
    statement = records.insert(table).on_conflict_do_nothing(index_elements=keys)
    async with records.begin() as db:
        for start in range(0, len(rows), 500):
            await db.execute(statement, rows[start : start + 500])
