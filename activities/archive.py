"""The archive of closed cycles and leads: what the office still reads once Temporal's retention is over.

Each workflow hands its final state to one activity at close; the row is keyed by
kind and workflow id, so a retry (or a second close) stores the same row again.
Ids, stage and dates are columns in clear — the same facts search attributes
show — and everything else (units, contacts, submissions, receipts, timelines,
audit, lead content) is one Temporal payload sealed with the payload keys by
the data converter every client and worker uses: the records database holds
no personal data in clear, exactly like Temporal's own database.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from activities.records import Records
from activities.records_schema import archive, aware, utc
from schemas.activities import ArchiveActivity
from schemas.archive import ArchivedCycle, ArchivedLead, ArchiveReceipt

CYCLE = "cycle"
LEAD = "lead"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ArchivedRef:
    """An archived workflow as the columns say, without opening its document."""

    kind: str
    id: str
    campaign: str
    office: str
    period: str
    stage: str
    closed_at: dt.datetime


class Archive:
    """Read and write the `archive` table; `converter` seals and opens the documents."""

    def __init__(self, records: Records, converter: DataConverter) -> None:
        self.records = records
        self.converter = converter

    async def _seal(self, document: BaseModel) -> bytes:
        [payload] = await self.converter.encode([document])
        return payload.SerializeToString()

    async def _open(self, data: bytes, kind: type[M]) -> M:
        [document] = await self.converter.decode([Payload.FromString(data)], [kind])
        assert isinstance(document, kind)
        return document

    async def _store(self, ref: ArchivedRef, document: BaseModel) -> None:
        row = {
            "kind": ref.kind,
            "id": ref.id,
            "campaign": ref.campaign,
            "office": ref.office,
            "period": ref.period,
            "stage": ref.stage,
            "closed_at": utc(ref.closed_at),
            "archived_at": utc(dt.datetime.now(dt.UTC)),
            "document": await self._seal(document),
        }
        statement = self.records.insert(archive).values(row)
        replaced = {k: statement.excluded[k] for k in ("stage", "closed_at", "archived_at", "document")}
        statement = statement.on_conflict_do_update(index_elements=["kind", "id"], set_=replaced)
        async with self.records.begin() as db:
            await db.execute(statement)

    async def store_cycle(self, cycle: ArchivedCycle) -> None:
        s = cycle.status
        ref = ArchivedRef(CYCLE, s.cycle_id, s.campaign_id, s.office_id, s.period, s.stage.value, s.now)
        await self._store(ref, cycle)

    async def store_lead(self, lead: ArchivedLead) -> None:
        s = lead.status
        ref = ArchivedRef(LEAD, s.lead_id, s.campaign_id, "", "", s.stage, s.now)
        await self._store(ref, lead)

    async def _document(self, kind: str, workflow_id: str) -> bytes | None:
        query = select(archive.c.document).where(archive.c.kind == kind, archive.c.id == workflow_id)
        async with self.records.begin() as db:
            found: bytes | None = await db.scalar(query)
        return found

    async def cycle(self, cycle_id: str) -> ArchivedCycle | None:
        data = await self._document(CYCLE, cycle_id)
        return None if data is None else await self._open(data, ArchivedCycle)

    async def lead(self, lead_id: str) -> ArchivedLead | None:
        data = await self._document(LEAD, lead_id)
        return None if data is None else await self._open(data, ArchivedLead)

    async def refs(self, kind: str, campaign: str | None = None, period: str | None = None) -> Sequence[ArchivedRef]:
        t = archive
        query = select(t.c.kind, t.c.id, t.c.campaign, t.c.office, t.c.period, t.c.stage, t.c.closed_at).where(
            t.c.kind == kind
        )
        if campaign:
            query = query.where(t.c.campaign == campaign)
        if period:
            query = query.where(t.c.period == period)
        async with self.records.begin() as db:
            rows = (await db.execute(query.order_by(t.c.campaign, t.c.period, t.c.id))).all()
        return [ArchivedRef(r.kind, r.id, r.campaign, r.office, r.period, r.stage, aware(r.closed_at)) for r in rows]


class ArchiveActivities(ArchiveActivity):
    """The activities the workflows call at close."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @activity.defn(name="archive_cycle")
    async def archive_cycle(self, cycle: ArchivedCycle) -> ArchiveReceipt:
        await self.archive.store_cycle(cycle)
        return ArchiveReceipt(kind=CYCLE, id=cycle.status.cycle_id)

    @activity.defn(name="archive_lead")
    async def archive_lead(self, lead: ArchivedLead) -> ArchiveReceipt:
        await self.archive.store_lead(lead)
        return ArchiveReceipt(kind=LEAD, id=lead.status.lead_id)
