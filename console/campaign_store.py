"""Where started campaign plans are kept, so later commands (refer a lead, export) know the units.

Plans are small and change rarely: one row per campaign in the records database
(activities/records.py), replaced when the campaign is started again.
"""

from datetime import UTC, datetime

from sqlalchemy import select

from activities.records import Records
from activities.records_schema import campaigns, utc
from schemas.plan import CampaignPlan


class CampaignNotFoundError(LookupError):
    pass


class CampaignStore:
    def __init__(self, records: Records) -> None:
        self.records = records

    async def save(self, plan: CampaignPlan) -> None:
        row = {"id": plan.id, "plan": plan.model_dump_json(), "saved_at": utc(datetime.now(UTC))}
        statement = self.records.insert(campaigns).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={"plan": statement.excluded.plan, "saved_at": statement.excluded.saved_at}
        )
        async with self.records.begin() as db:
            await db.execute(statement)

    async def load(self, campaign_id: str) -> CampaignPlan:
        async with self.records.begin() as db:
            text = await db.scalar(select(campaigns.c.plan).where(campaigns.c.id == campaign_id))
        if text is None:
            raise CampaignNotFoundError(f"no started campaign {campaign_id!r} (run `duban campaign start FILE` first)")
        return CampaignPlan.model_validate_json(text)

    async def ids(self) -> list[str]:
        async with self.records.begin() as db:
            return list((await db.scalars(select(campaigns.c.id).order_by(campaigns.c.id))).all())
