"""The archive of closed cycles and leads on the records database, on a SQLite file and on PostgreSQL."""

import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.archive import CYCLE, LEAD, Archive, ArchiveActivities
from activities.records import Records
from activities.records_schema import archive
from domain import cycle_views, timeline
from domain.lead_stages import LeadBook
from schemas.archive import ArchivedCycle, ArchivedLead
from schemas.cycle import CycleState, UnitState
from tests.lead_support import lead_input
from tests.plans import cycle_input, plan
from workers.codec import PayloadKeyError, generate_key_line
from workers.settings import Settings
from workers.temporal import data_converter

OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def closed_cycle(campaign: str = "test", period: str = "2026-T") -> ArchivedCycle:
    spec = cycle_input(plan(campaign_id=campaign), OPENED, period).spec
    assert spec is not None
    due = timeline.unit_due(spec)
    state = CycleState(units={u.id: UnitState(unit_id=u.id, due=due) for u in spec.units}, unit_due=due)
    state.stage = state.stage.CLOSED
    state.close_reason = "年度结束"
    return ArchivedCycle(spec=spec, state=state, status=cycle_views.cycle_status(spec, state, OPENED))


def closed_lead() -> ArchivedLead:
    book = LeadBook(lead_input(OPENED))
    book.start()
    return ArchivedLead(input=book.spec, status=book.status(OPENED))


def sealing(tmp_path_key: str = "test-1") -> Settings:
    return Settings(payload_keys=SecretStr(generate_key_line(tmp_path_key)))


class TestArchive:
    async def test_round_trip_sealed_and_idempotent(self, records: Records) -> None:
        """Stored twice (a retried activity), read back whole; the row's document holds no name or address."""
        shelf = Archive(records, data_converter(sealing()))
        activities = ArchiveActivities(shelf)
        cycle, lead = closed_cycle(), closed_lead()
        env = ActivityEnvironment()
        for _ in range(2):
            assert (await env.run(activities.archive_cycle, cycle)).id == cycle.spec.cycle_id
            assert (await env.run(activities.archive_lead, lead)).id == lead.input.lead_id
        back_cycle, back_lead = await shelf.cycle(cycle.spec.cycle_id), await shelf.lead(lead.input.lead_id)
        assert back_cycle is not None and back_cycle.model_dump() == cycle.model_dump()
        assert back_lead is not None and back_lead.model_dump() == lead.model_dump()
        assert await shelf.cycle("cycle:none") is None
        async with records.begin() as db:
            rows = (await db.execute(select(archive))).all()
        assert sorted((r.kind, r.id) for r in rows) == sorted(
            [(CYCLE, cycle.spec.cycle_id), (LEAD, lead.input.lead_id)]
        )
        for row in rows:
            for clear in ("测试单位1", "u1@yaan.example", "年度结束", lead.input.title):
                assert clear.encode() not in row.document

    async def test_refs_by_campaign_and_period(self, records: Records) -> None:
        """The listing reads the clear columns only: by kind, campaign and period, sorted."""
        shelf = Archive(records, data_converter(sealing()))
        for campaign, period in (("a", "2026-Y"), ("a", "2026-H1"), ("b", "2026-Y")):
            await shelf.store_cycle(closed_cycle(campaign, period))
        await shelf.store_lead(closed_lead())
        assert [(r.campaign, r.period) for r in await shelf.refs(CYCLE, "a")] == [("a", "2026-H1"), ("a", "2026-Y")]
        assert [r.campaign for r in await shelf.refs(CYCLE, period="2026-Y")] == ["a", "b"]
        assert all(r.stage == "closed" and r.closed_at.tzinfo is not None for r in await shelf.refs(CYCLE))
        assert [r.id for r in await shelf.refs(LEAD, "test")] == ["lead:test:0001"]

    async def test_only_the_keys_open_it(self, records: Records) -> None:
        """Read with other payload keys, the archive refuses instead of returning something."""
        await Archive(records, data_converter(sealing("key-a"))).store_cycle(closed_cycle())
        other = Archive(records, data_converter(sealing("key-b")))
        with pytest.raises(PayloadKeyError, match="key-a"):
            await other.cycle(closed_cycle().spec.cycle_id)
