"""`duban backup DEST`: a consistent copy of the embedded stack's data directory, safe while it runs.

Copying `temporal.db` with tar or cp while the Temporal dev server writes it (WAL
mode) can catch the database file and its `-wal` at different moments: a copy
that may not open, or opens without the last commits. Each SQLite database is
copied instead with SQLite's online backup API, which reads one consistent
snapshot while writers go on. Databases first, files after: a blob is written
before any history refers to it, so the blobs copied later include every blob
the copied histories name.

The result is itself a data directory: restoring is pointing `DUBAN_DATA_DIR`
at a copy of it (docs/operations.md "Backups", the restore drill). Blobs are
copied as they are stored, sealed: the copy needs the payload keys to be read.
When the blobs live in an S3 bucket (DUBAN_OBJECTS__URL) they are not copied —
the bucket's versioning is their backup — and the manifest says so.
"""

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from console.output import bad_input, console, emit_json, failure
from workers.settings import load_settings

# Every SQLite database at the top of the data directory (temporal.db, the sent-ledger, any
# other) is recognised by its header and copied through the backup API.
SQLITE_HEADER = b"SQLite format 3\x00"
# Not state: logs and the pids of processes of this run.
SKIPPED = {"log", "run", "scratch"}
MANIFEST = "backup.json"


def _sqlite_copy(source: Path, target: Path) -> None:
    # Read-only and not creating: a missing or locked source fails loudly instead of being made empty.
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # all pages in one step: one snapshot
    with sqlite3.connect(target) as dst:
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise RuntimeError(f"the copy of {source.name} fails SQLite's check: {check}")


def _is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _entries(data_dir: Path) -> Iterator[Path]:
    for path in sorted(data_dir.iterdir()):
        if path.name in SKIPPED or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        yield path


def backup(data_dir: Path, dest: Path, objects_url: str | None = None) -> dict[str, object]:
    """Copy `data_dir` into the new directory `dest`; returns the manifest written there.

    `objects_url`: where the blobs are when they are not under the data directory (not copied)."""
    dest.mkdir(parents=True)
    started = dt.datetime.now(dt.UTC)
    copied: dict[str, int] = {}
    databases = [p for p in _entries(data_dir) if _is_sqlite(p)]
    for path in databases:
        _sqlite_copy(path, dest / path.name)
        copied[path.name] = (dest / path.name).stat().st_size
    for path in _entries(data_dir):
        if path in databases:
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name, symlinks=True)
            copied[path.name + "/"] = sum(1 for p in (dest / path.name).rglob("*") if p.is_file())
        else:
            shutil.copy2(path, dest / path.name)
            copied[path.name] = (dest / path.name).stat().st_size
    manifest: dict[str, object] = {
        "source": str(data_dir.resolve()),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "copied": copied,
        "blobs": f"not copied: {objects_url} (bucket versioning)" if objects_url else "copied (blobs/, sealed)",
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new directory for the copy (must not exist, or be empty).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Copy the embedded stack's data (DUBAN_DATA_DIR) consistently, even while `duban dev` runs.

    Example: duban backup /backups/duban-$(date +%F). The copy holds the payload key: keep it as
    safe as the original. Restore: stop duban dev, point DUBAN_DATA_DIR at a copy of the backup.
    """
    settings = load_settings()
    data_dir = settings.data_dir
    if not (data_dir / "temporal.db").is_file():
        bad_input(f"{data_dir} holds no temporal.db: not the data directory of an embedded stack (DUBAN_DATA_DIR)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        bad_input(f"{dest} exists and is not an empty directory; a backup never overwrites")
    if dest.resolve().is_relative_to(data_dir.resolve()):
        bad_input(f"{dest} is inside the data directory {data_dir}")
    if dest.exists():
        dest.rmdir()
    try:
        manifest = backup(data_dir, dest, settings.objects.url)
    except (OSError, sqlite3.Error, RuntimeError) as error:
        shutil.rmtree(dest, ignore_errors=True)
        failure(f"backup failed, nothing kept: {error}")
    if json_output:
        emit_json(manifest)
    else:
        console.print(f"backup of {data_dir} in {dest}: {', '.join(manifest['copied'])}")  # type: ignore[arg-type]
        if settings.objects.url:
            console.print(f"blobs in {settings.objects.url} not copied: the bucket's versioning keeps them")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
