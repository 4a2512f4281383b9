"""Amending running cycles from an edited plan, shared by `duban campaign amend` and the cycle page.

Each running cycle of the plan's campaign and office is asked what the plan would change
(`ReportingCycle.preview_amendment`: the cycle computes it, so what is shown is what its Update
applies); applying sends the plan's units with the digest of the difference shown, and the cycle
refuses if it changed in between. A plan applied once shows no difference the second time.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel
from temporalio.client import Client

from activities.records import Records
from console import client_calls as calls
from console.campaign_store import CampaignStore
from domain import cycle_spec
from schemas.amendment import Amended, Amendment, AmendUnits, NewUnitsDue
from schemas.people import Person
from schemas.plan import CampaignPlan
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

FIELD_ZH = {"name": "名称", "contacts": "联系人", "leader": "分管领导", "work_areas": "职责分工"}


@dataclass
class CycleAmendment:
    """One running cycle: the call the plan makes for it, what it would change, what applying it did."""

    cycle_id: str
    period: str
    call: AmendUnits | None  # None: the plan no longer has the cycle's obligation (the cycle is left alone)
    preview: Amendment | None = None
    note: str = ""
    applied: Amended | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.preview is None or self.preview.empty


async def running_cycles(client: Client, plan: CampaignPlan) -> list[calls.CycleRef]:
    """The campaign's cycles of this office that still run (a closed cycle takes no amendment)."""
    refs = await calls.list_cycles(client, plan.id)
    return [r for r in refs if r.running and r.office_id == plan.office.id and r.stage != "closed"]


def call_for(plan: CampaignPlan, obligation_id: str, how: NewUnitsDue, by: str) -> AmendUnits | None:
    """The plan's units for a cycle of `obligation_id`, as the cycle's amend call."""
    ob = next((o for o in plan.obligations if o.id == obligation_id), None)
    if ob is None:
        return None
    return AmendUnits(units=cycle_spec.template_for(plan, ob).units, new_units_due=how, by=by)


def obligation_of(cycle_id: str) -> str:
    """`cycle:<campaign>:<office>:<obligation>:<period>` → the obligation id."""
    parts = cycle_id.split(":")
    return parts[3] if len(parts) >= 5 else ""


async def preview(
    client: Client, plan: CampaignPlan, how: NewUnitsDue, by: str, only: str | None = None
) -> list[CycleAmendment]:
    """What the plan would change in each running cycle (or only in cycle `only`)."""
    out = []
    for ref in await running_cycles(client, plan):
        if only is not None and ref.cycle_id != only:
            continue
        call = call_for(plan, obligation_of(ref.cycle_id), how, by)
        item = CycleAmendment(ref.cycle_id, ref.period, call)
        if call is None:
            item.note = f"the plan has no obligation {obligation_of(ref.cycle_id)!r}: this cycle is left alone"
        else:
            item.preview = await calls.query(client, ref.cycle_id, ReportingCycle.preview_amendment, call)
        out.append(item)
    return out


async def apply(client: Client, settings: Settings, plan: CampaignPlan, items: list[CycleAmendment]) -> None:
    """Apply each previewed difference (as shown: with its digest); then keep the plan as the campaign's."""
    for item in items:
        if item.call is None or item.preview is None or item.preview.empty or item.preview.refusal:
            continue
        call = item.call.model_copy(update={"expect": item.preview.digest})
        try:
            item.applied = await calls.update(client, item.cycle_id, ReportingCycle.amend_units, call)
        except calls.Rejected as err:
            item.errors.append(str(err))
    if any(i.applied for i in items):
        # Later commands (a lead's units, the ledger) read the campaign's units from the stored plan.
        records = Records(settings.records_url_value())
        try:
            await CampaignStore(records).save(plan)
        finally:
            await records.dispose()


def person_text(p: Person | None) -> str:
    if p is None:
        return "—"
    reach = p.email or (f"webhook {p.webhook}" if p.webhook else "")
    return f"{p.name} <{reach}>" if reach else p.name


def change_lines(item: CycleAmendment) -> list[tuple[str, str, str, str]]:
    """(what, unit id, unit name, detail) rows for a table, in the order added, withdrawn, changed, kept."""
    a = item.preview
    if a is None:
        return []
    rows: list[tuple[str, str, str, str]] = []
    due = f"截止 {a.new_units_due.at.isoformat()}" if a.new_units_due else ""
    for u in a.added:
        what = "恢复" if u.id in a.restored else "新增"
        rows.append((what, u.id, u.name, "; ".join(filter(None, [", ".join(map(person_text, u.contacts)), due]))))
    for uid in a.withdrawn:
        rows.append(("撤回", uid, a.names.get(uid, ""), "不再催办、不再督办"))
    for c in a.changed:
        rows.append(("变更", c.unit_id, c.unit.name, "; ".join(_field_text(c.before, c.unit, f) for f in c.fields)))
    for uid in a.kept:
        rows.append(("保留", uid, a.names.get(uid, ""), "计划已删除，但已报送：保留在本期（报送材料计入汇总）"))
    return rows


def _field_text(before: BaseModel | None, after: BaseModel, name: str) -> str:
    def text(model: BaseModel | None) -> str:
        value = getattr(model, name, None) if model is not None else None
        if isinstance(value, list):
            return ", ".join(person_text(v) if isinstance(v, Person) else str(v) for v in value) or "—"
        if isinstance(value, Person) or value is None:
            return person_text(value)
        return str(value)

    return f"{FIELD_ZH.get(name, name)}: {text(before)} → {text(after)}"
