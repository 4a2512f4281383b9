"""What every console replica must agree on about access: failed sign-ins, and revoked unit links.

Two failure stores behind one interface:

- `MemoryAccessStore`: one process (the `duban dev` console, tests). Bounded:
  at most `MAX_KEYS` keys (least recently failed dropped first), each with at
  most `MAX_STAMPS` recent failures.
- `RecordsAccessStore`: the records database (activities/records.py), shared
  by every console that uses it — a SQLite file in the data directory, or
  PostgreSQL across hosts. Rows older than the longest window are deleted as
  new ones arrive, and the table never holds more than `MAX_ROWS`.

Revoked links are kept in the records database whichever store the limiter
uses: a revocation must outlive a restart and reach every replica and the CLI.
"""

import datetime as dt
import threading
import time
from collections import OrderedDict, deque
from typing import Protocol

from sqlalchemy import case, delete, func, select

from activities.records import Records
from activities.records_schema import aware, link_revocations, sign_in_failures, utc

MAX_KEYS = 20_000
MAX_STAMPS = 64
MAX_ROWS = 200_000
KEEP_SECONDS = 3600.0


class FailureStore(Protocol):
    async def count_since(self, key: str, since: float) -> int: ...
    async def add(self, key: str, at: float) -> None: ...
    async def clear(self, key: str) -> None: ...
    async def size(self) -> int: ...


class MemoryAccessStore:
    """Failures in this process only; bounded whatever names and addresses arrive."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._stamps: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    async def count_since(self, key: str, since: float) -> int:
        with self._lock:
            return sum(1 for at in self._stamps.get(key, ()) if at >= since)

    async def add(self, key: str, at: float) -> None:
        with self._lock:
            stamps = self._stamps.pop(key, None) or deque(maxlen=MAX_STAMPS)
            stamps.append(at)
            self._stamps[key] = stamps  # most recent last
            while len(self._stamps) > self.max_keys:
                self._stamps.popitem(last=False)

    async def clear(self, key: str) -> None:
        with self._lock:
            self._stamps.pop(key, None)

    async def size(self) -> int:
        return len(self._stamps)


class RecordsAccessStore:
    """Failures shared by every console on the same records database."""

    def __init__(self, records: Records) -> None:
        self.records = records

    async def count_since(self, key: str, since: float) -> int:
        t = sign_in_failures
        async with self.records.begin() as db:
            found = await db.scalar(select(func.count()).where(t.c.key == key, t.c.at >= since))
        return int(found or 0)

    async def add(self, key: str, at: float) -> None:
        t = sign_in_failures
        beyond_cap = select(t.c.id).order_by(t.c.at.desc()).offset(MAX_ROWS).scalar_subquery()
        async with self.records.begin() as db:
            await db.execute(t.insert().values(key=key, at=at))
            await db.execute(delete(t).where(t.c.at < at - KEEP_SECONDS))
            await db.execute(delete(t).where(t.c.id.in_(beyond_cap)))

    async def clear(self, key: str) -> None:
        async with self.records.begin() as db:
            await db.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))

    async def size(self) -> int:
        async with self.records.begin() as db:
            found = await db.scalar(select(func.count(sign_in_failures.c.key.distinct())))
        return int(found or 0)


class RevocationStore:
    """The moment from which a unit's links count, per (office, unit); it only ever moves forward."""

    def __init__(self, records: Records) -> None:
        self.records = records

    async def revoke(self, office_id: str, unit_id: str, valid_from: dt.datetime) -> None:
        t = link_revocations
        statement = self.records.insert(t).values(office=office_id, unit=unit_id, valid_from=utc(valid_from))
        later = case((statement.excluded.valid_from > t.c.valid_from, statement.excluded.valid_from),
                     else_=t.c.valid_from)  # fmt: skip
        statement = statement.on_conflict_do_update(index_elements=["office", "unit"], set_={"valid_from": later})
        async with self.records.begin() as db:
            await db.execute(statement)

    async def valid_from(self, office_id: str, unit_id: str) -> dt.datetime | None:
        t = link_revocations
        async with self.records.begin() as db:
            found = await db.scalar(select(t.c.valid_from).where(t.c.office == office_id, t.c.unit == unit_id))
        return aware(found) if found is not None else None


def now() -> float:
    """Wall-clock seconds: replicas on different machines compare stamps, so not a monotonic clock."""
    return time.time()
