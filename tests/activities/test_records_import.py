"""A data directory from before the records database keeps its ledger, revocations and plans (once imported)."""

import contextlib
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from activities.records import Records
from activities.records_import import import_legacy_files
from activities.sent_ledger import SentLedger
from console.access_store import RevocationStore
from console.campaign_store import CampaignStore
from tests.plans import plan

DUBAN = Path(sys.executable).parent / "duban"
SENT_AT = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


def old_data_dir(data_dir: Path) -> None:
    """The three files as the code before issue 18 wrote them (same tables, same text formats)."""
    data_dir.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(data_dir / "sent-ledger.sqlite")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE sent (channel TEXT NOT NULL, key TEXT NOT NULL, message_id TEXT NOT NULL, recipient TEXT "
            "NOT NULL, scope TEXT NOT NULL DEFAULT '', sent_at TEXT NOT NULL, PRIMARY KEY (channel, key)) WITHOUT ROWID"
        )
        db.execute(
            "INSERT INTO sent VALUES ('email', 'k/1', '<1@duban>', 'a@x.example', 'c1', ?)", (SENT_AT.isoformat(),)
        )
        db.commit()
    with contextlib.closing(sqlite3.connect(data_dir / "access.db")) as db:
        db.execute("CREATE TABLE revocations (office TEXT NOT NULL, unit TEXT NOT NULL, valid_from TEXT NOT NULL)")
        db.execute("INSERT INTO revocations VALUES ('yaan', 'u1', ?)", (SENT_AT.isoformat(timespec="microseconds"),))
        db.commit()
    (data_dir / "campaigns").mkdir()
    (data_dir / "campaigns" / "test.json").write_text(plan().model_dump_json(indent=2), encoding="utf-8")


async def test_imported_once_and_retired(tmp_path: Path) -> None:
    """Every row arrives; the files are renamed, so a second run imports nothing."""
    data_dir = tmp_path / "var"
    old_data_dir(data_dir)
    records = Records.in_file(data_dir / "records.db")
    try:
        assert await import_legacy_files(records, data_dir) == {"sent": 1, "link_revocations": 1, "campaigns": 1}
        assert await SentLedger(records).sent_keys(["k/1", "k/2"]) == {"k/1"}
        assert [e.sent_at for e in await SentLedger(records).entries("c1")] == [SENT_AT]
        assert await RevocationStore(records).valid_from("yaan", "u1") == SENT_AT
        assert (await CampaignStore(records).load("test")).id == "test"
        assert await import_legacy_files(records, data_dir) == {}
    finally:
        await records.dispose()
    assert not (data_dir / "sent-ledger.sqlite").exists() and (data_dir / "sent-ledger.sqlite.imported").exists()
    assert (data_dir / "campaigns.imported" / "test.json").exists()


def test_db_upgrade_imports_them(tmp_path: Path) -> None:
    """`duban db upgrade` on such a data directory creates the schema and reports what it brought in."""
    data_dir = tmp_path / "var"
    old_data_dir(data_dir)
    env = {"DUBAN_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(DUBAN), "db", "upgrade", "--json"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["from"] is None and answer["changed"] is True
    assert answer["imported"] == {"sent": 1, "link_revocations": 1, "campaigns": 1}
    again = json.loads(
        subprocess.run(
            [str(DUBAN), "db", "upgrade", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert again["changed"] is False and again["imported"] == {}


def test_db_upgrade_never_shows_the_password(tmp_path: Path) -> None:
    """An unreachable PostgreSQL: exit 1, the reason, the URL with its password masked."""
    env = {"DUBAN_DATA_DIR": str(tmp_path), "DUBAN_RECORDS_URL": "postgresql://duban:pa55-w0rd@127.0.0.1:1/duban"}
    done = subprocess.run([str(DUBAN), "db", "upgrade"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "pa55-w0rd" not in done.stdout + done.stderr
    assert "duban:***@127.0.0.1:1/duban" in done.stderr
    bad = subprocess.run(
        [str(DUBAN), "db", "upgrade"], env={**env, "DUBAN_RECORDS_URL": "mysql://x:pa55-w0rd@h/d"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unsupported database" in bad.stderr and "pa55-w0rd" not in bad.stderr
