"""The records database: what every worker and console must share, and what must outlast Temporal.

One code path over SQLAlchemy's asyncio engine: a SQLite file in the data
directory by default (aiosqlite; the embedded stack needs no set-up), PostgreSQL
in production (asyncpg), named by `DUBAN_RECORDS_URL`. The schema belongs to
Alembic (`activities/migrations/`): `duban db upgrade` creates or migrates it.
On a SQLite file every process brings it to the newest revision on first use
(a file lock keeps two processes from doing it at once); on PostgreSQL the
deploy's migration Job does, and a process finding an older schema refuses to
work rather than write into it.

The URL may carry a password: it is never logged or put in an error message
whole, only as `safe_url()` renders it.
"""

import asyncio
import contextlib
import fcntl
import functools
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class RecordsError(RuntimeError):
    """The records database cannot be used as configured; the message never holds the password."""


def parse_url(url: str | URL) -> URL:
    """`postgresql://…` or `sqlite:///path` with the async driver duban uses; anything else is refused."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RecordsError("DUBAN_RECORDS_URL is not a database URL (postgresql://… or sqlite:///path)") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise RecordsError(
            f"DUBAN_RECORDS_URL: unsupported database {parsed.drivername!r} (use postgresql://… or sqlite:///path)"
        )
    if driver.startswith("sqlite") and not parsed.database:
        raise RecordsError("DUBAN_RECORDS_URL: a SQLite URL names a file (sqlite:///path/records.db)")
    return parsed.set(drivername=driver)


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown: the password masked."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class Records:
    """One records database, reachable from any event loop of the process."""

    def __init__(self, url: str | URL) -> None:
        self.url = parse_url(url)
        self.dialect = self.url.get_backend_name()
        # An asyncpg connection belongs to the loop that opened it: one engine (and pool) per loop.
        self._engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine] = weakref.WeakKeyDictionary()
        self._ready = False

    @classmethod
    def in_file(cls, path: Path) -> "Records":
        return cls(sqlite_url(path))

    def __repr__(self) -> str:
        return f"Records({safe_url(self.url)!r})"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.dialect == "sqlite" and self.url.database else None

    def engine(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        engine = self._engines.get(loop)
        if engine is None:
            engine = self._create_engine()
            self._engines[loop] = engine
        return engine

    def _create_engine(self) -> AsyncEngine:
        # Every use is `begin()`, which ends in COMMIT or ROLLBACK: the pool's own rollback on return
        # would be one more round trip (PostgreSQL) or thread hop (aiosqlite) per sent message.
        if self.sqlite_path is None:
            return create_async_engine(
                self.url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_reset_on_return=None
            )
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(self.url, connect_args={"timeout": 30.0}, pool_reset_on_return=None)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine

    async def dispose(self) -> None:
        for engine in list(self._engines.values()):
            await engine.dispose()
        self._engines.clear()

    # -- schema ------------------------------------------------------------------------------------

    async def revision(self) -> str | None:
        """The schema revision the database is at (None: empty)."""
        async with self.engine().begin() as conn:  # ends the transaction: the pool does not reset connections
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())

    @staticmethod
    def head() -> str:
        return _head()

    async def upgrade(self) -> str:
        """Create or migrate the schema to the newest revision; returns it."""
        async with self._migration_lock(), self.engine().begin() as conn:
            await conn.run_sync(_upgrade)
        self._ready = True
        return self.head()

    async def ready(self) -> None:
        """Before the first read or write: a SQLite file is migrated here, PostgreSQL must be already."""
        if self._ready:
            return
        try:
            current = await self.revision()
        except OSError as exc:
            raise RecordsError(f"records database {safe_url(self.url)} unreachable: {exc}") from exc
        if current != self.head() and self.sqlite_path is not None:
            await self.upgrade()
            return
        if current != self.head():
            raise RecordsError(
                f"records database {safe_url(self.url)} is at schema {current or 'none'}, this duban needs "
                f"{self.head()}: run `duban db upgrade` (the deploy's migration job) first"
            )
        self._ready = True

    @contextlib.asynccontextmanager
    async def _migration_lock(self) -> AsyncIterator[None]:
        # Two processes starting on a fresh SQLite file would both create the tables; PostgreSQL's
        # migration runs once, from the deploy's job. The lock is waited for off the event loop.
        if self.sqlite_path is None:
            yield
            return
        lock_path = self.sqlite_path.with_name(self.sqlite_path.name + ".migrate-lock")
        with lock_path.open("a") as fh:
            await asyncio.to_thread(fcntl.flock, fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- use ---------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        await self.ready()
        async with self.engine().begin() as conn:
            yield conn

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL speak it)."""
        dialect_insert: Callable[[Table], Any] = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never wait for the writer, and several processes on this host share the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@functools.cache
def _head() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "activities/migrations has no revision"
    return head


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(sync: Connection) -> None:
    config = _alembic_config()
    # migrations/env.py runs on this connection instead of opening its own.
    config.attributes["connection"] = sync
    command.upgrade(config, "head")
