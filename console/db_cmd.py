"""`duban db upgrade`: create or migrate the records database (the deploy's migration job runs it)."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from activities.records import Records, RecordsError, safe_url
from activities.records_import import import_legacy_files
from console.output import bad_input, emit_json, failure
from workers.settings import load_settings

app = typer.Typer(
    help="The records database: sent-ledger, campaign plans, access state, archive.", no_args_is_help=True
)


async def _upgrade(records: Records, data_dir: Path) -> tuple[str | None, str, dict[str, int]]:
    try:
        before = await records.revision()
        after = await records.upgrade()
        # An embedded data directory from before the records database: its ledger, revocations, plans.
        return before, after, await import_legacy_files(records, data_dir)
    finally:
        await records.dispose()


@app.command("upgrade")
def upgrade(
    json_out: Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")] = False,
) -> None:
    """Create the records database's tables, or migrate them to this version's schema.

    SQLite file in the data directory unless DUBAN_RECORDS_URL names a PostgreSQL database.
    Safe to run again: an up-to-date database is left as it is.

    Examples:

        duban db upgrade

        DUBAN_RECORDS_URL=postgresql://duban@db/duban duban db upgrade --json
    """
    settings = load_settings()
    try:
        records = Records(settings.records_url_value())
    except RecordsError as exc:
        bad_input(str(exc))
    where = safe_url(records.url)
    try:
        before, after, imported = asyncio.run(_upgrade(records, settings.data_dir))
    except (OSError, SQLAlchemyError) as exc:
        # The driver's own words (connection refused, authentication failed), never the URL's password.
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        failure(f"records database {where}: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")
    if json_out:
        emit_json({"database": where, "from": before, "to": after, "changed": before != after, "imported": imported})
        return
    typer.echo(f"{where}: schema {before or 'none'} -> {after}" if before != after else f"{where}: schema {after}")
    for kind, count in imported.items():
        typer.echo(f"imported {count} {kind} row(s) from the data directory's older files")
