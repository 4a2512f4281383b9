"""What the lead pages (console and portal) show besides the lead's status: its plan, each stage's clock,
and the stage diagram of one track with the stage it is in highlighted."""

from dataclasses import dataclass
from typing import Any

from activities.records import Records
from console.campaign_store import CampaignNotFoundError, CampaignStore
from console.web.lead_actions import ACTIONS
from domain.lead_stages import STAGE_DIAGRAM
from domain.lead_wording import decision_zh, stage_zh
from schemas.calendar import Due
from schemas.lead import LeadStatus, StageName, StageRecord, campaign_of
from schemas.plan import CampaignPlan


async def lead_plan(records: Records, lead_id: str) -> CampaignPlan | None:
    """The plan of the lead's campaign, or None when it is gone (the pages then offer no unit choices)."""
    try:
        return await CampaignStore(records).load(campaign_of(lead_id))
    except (CampaignNotFoundError, ValueError):
        return None


def stage_due(status: LeadStatus, record: StageRecord) -> Due:
    """A stage's deadline as the cycle pages show one (zone, provisional flag, the rule in words)."""
    return Due(
        at=record.due, tz=status.tz, provisional=record.provisional, rule=record.due_rule, rule_zh=record.due_rule_zh
    )


@dataclass(frozen=True)
class DiagramNode:
    """One stage box; `state` is its CSS class: "current" (open; "current overdue" past its due),
    "done" ("done late" when an occurrence missed its limit), or "idle" (the track never reached it)."""

    stage: StageName
    label: str
    state: str
    unit: str = ""
    due: Due | None = None


@dataclass(frozen=True)
class DiagramRow:
    branch: str  # the decision that leads into this row, empty for the main line
    nodes: list[DiagramNode]


def _node(status: LeadStatus, stage: StageName, records: list[StageRecord]) -> DiagramNode:
    label = stage_zh(stage)
    if not records:
        return DiagramNode(stage, label, "idle")
    last = records[-1]  # feedback recurs: its latest occurrence is the one that counts now
    if last.done_at is None:
        state = "current overdue" if status.now > last.due else "current"
    else:
        state = "done late" if any(r.met is False for r in records) else "done"
    return DiagramNode(stage, label, state, last.unit, stage_due(status, last))


def stage_diagram(status: LeadStatus, track: str) -> list[DiagramRow]:
    """The whole stage diagram for one track, each box marked by the track's records of that stage."""
    mine = [r for r in status.stages if r.track == track]
    return [
        DiagramRow(
            decision_zh(branch) if branch else "",
            [_node(status, stage, [r for r in mine if r.name is stage]) for stage in stages],
        )
        for branch, stages in STAGE_DIAGRAM
    ]


def lead_page_context(lead: LeadStatus, plan: CampaignPlan | None, may_act: bool) -> dict[str, Any]:
    """What lead.html shows: a diagram per track, every stage's clock, and (operators only) a form per open stage."""
    return {
        "lead": lead,
        "diagrams": [(t, stage_diagram(lead, t.unit)) for t in lead.tracks],
        "rows": [(r, stage_due(lead, r)) for r in lead.stages],
        "may_act": may_act and not lead.closed,
        "open_stages": [r for r in lead.stages if r.done_at is None] if may_act else [],
        "actions": ACTIONS,
        "units": plan.units if plan else [],
    }
