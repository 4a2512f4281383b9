"""Benchmark workloads built in code: offices with N units, minute-scale ladders, the national hierarchy.

Ladders are in minutes (urgent rungs, so no send window or weekend moves them)
so that a whole cycle — notice, reminder, due moment, escalation — runs in a few
minutes of real time on a real server.
"""

import datetime as dt
from dataclasses import dataclass, field

from activities.holidays import load_calendar
from domain import cycle_spec, timeline
from domain.timeline import ItemKind
from schemas.calendar import DueRule, HolidayCalendar, LadderStep, RuleKind, StepUnit
from schemas.cycle import CycleInput, CycleSpec
from schemas.people import Contact, Person
from schemas.plan import (
    CampaignPlan,
    DocumentInfo,
    DueSpec,
    EscalationStep,
    Obligation,
    Office,
    Period,
    Recipient,
    Unit,
    UnitKind,
    UpperOffice,
)

OBLIGATION_ID = "summary"
PERIOD = "2026-B"


def minute_obligation(due_min: int, remind_before_min: int | None = None, escalate_after_min: int = 1) -> Obligation:
    """Due `due_min` minutes after opening; optionally one reminder before, one escalation after."""
    reminders = []
    if remind_before_min is not None:
        assert 0 < remind_before_min <= due_min
        reminders.append(LadderStep(key="r", offset=remind_before_min, unit=StepUnit.MINUTES, urgent=True))
    return Obligation(
        id=OBLIGATION_ID,
        title="基准测试工作总结",
        period=Period.ONCE,
        unit_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=due_min)),
        upward_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=2)),
        reminders=reminders,
        escalations=[
            EscalationStep(
                step=LadderStep(key="leader", offset=escalate_after_min, unit=StepUnit.MINUTES, urgent=True),
                recipients=[Recipient.UNIT_LEADER, Recipient.OFFICE],
            )
        ],
    )


def opened_for(moment: dt.datetime, minutes_after_opening: int) -> dt.datetime:
    """The opening time that puts a rung `minutes_after_opening` after it exactly at `moment`.

    Ladders count in whole minutes; opening a cycle a little in the past puts its first
    rung a chosen number of seconds after the real start.
    """
    return moment - dt.timedelta(minutes=minutes_after_opening)


def office_plan(
    campaign: str,
    office_id: str,
    unit_ids: list[str],
    obligation: Obligation,
    upper: UpperOffice | None = None,
    counties: frozenset[str] = frozenset(),
) -> CampaignPlan:
    units = [
        Unit(
            id=uid,
            name=f"单位{uid}",
            kind=UnitKind.COUNTY if uid in counties else UnitKind.MEMBER,
            contacts=[Person(name=f"联系人{uid}", email=f"{uid}@{office_id}.example")],
            leader=Person(name=f"领导{uid}", email=f"leader-{uid}@{office_id}.example"),
        )
        for uid in unit_ids
    ]
    return CampaignPlan(
        id=campaign,
        title="基准测试专项行动",
        document=DocumentInfo(number="基准发〔2026〕1号", title="关于报送工作总结的通知"),
        office=Office(
            id=office_id,
            name=f"{office_id}打假办",
            email=f"office@{office_id}.example",
            staff=[Person(name="办公室", email=f"office@{office_id}.example")],
        ),
        upper_office=upper,
        contact=Contact(name="联系人", phone="0000000"),
        leadership=[Person(name="组长", email=f"chief@{office_id}.example")],
        units=units,
        obligations=[obligation],
    )


_CALENDARS: dict[int, HolidayCalendar] = {}


def calendar_for(year: int) -> HolidayCalendar:
    if year not in _CALENDARS:
        _CALENDARS[year] = load_calendar(cycle_spec.calendar_years(year), "Asia/Shanghai")
    return _CALENDARS[year]


def cycle_input(plan: CampaignPlan, opened_at: dt.datetime) -> CycleInput:
    ob = plan.obligations[0]
    template = cycle_spec.template_for(plan, ob)
    cycle_id = f"cycle:{plan.id}:{plan.office.id}:{ob.id}:{PERIOD}"
    spec = cycle_spec.build_spec(template, PERIOD, opened_at.year, opened_at, calendar_for(opened_at.year), cycle_id)
    return CycleInput(spec=spec)


def single_unit_specs(spec: CycleSpec, prefix: str) -> list[tuple[str, CycleSpec]]:
    """The naive baseline's inputs: one spec per unit, each its own workflow id."""
    out = []
    for unit in spec.units:
        wid = f"{prefix}{unit.id}"
        out.append((wid, spec.model_copy(update={"units": [unit], "cycle_id": wid})))
    return out


def reminder_moment(spec: CycleSpec) -> dt.datetime:
    due = timeline.unit_due(spec)
    return next(i.at for i in timeline.deadline_ladder(spec, due, spec.opened_at) if i.kind is ItemKind.REMIND)


def unit_ids(office_id: str, n: int) -> list[str]:
    return [f"{office_id}-u{i}" for i in range(1, n + 1)]


# ---- the national hierarchy -------------------------------------------------------------


@dataclass
class OfficeNode:
    office_id: str
    level: str  # province | city | county
    members: list[str]  # the office's own member units
    children: list["OfficeNode"] = field(default_factory=list)
    parent: "OfficeNode | None" = None

    @property
    def unit_ids(self) -> list[str]:
        """Units of this office's cycle: its members, then each lower office as one unit."""
        return self.members + [c.office_id for c in self.children]


@dataclass
class Hierarchy:
    provinces: list[OfficeNode]

    def offices(self) -> list[OfficeNode]:
        out: list[OfficeNode] = []
        stack = list(self.provinces)
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children)
        return out

    def leaf_units(self) -> int:
        return sum(len(o.members) for o in self.offices())

    def units(self) -> int:
        return sum(len(o.unit_ids) for o in self.offices())


def national(
    units: int, office_units: int = 30, cities_per_province: int = 11, counties_per_city: int = 9
) -> Hierarchy:
    """About `units` units (cycle rows) under province → city → county offices of ~`office_units` rows each.

    The full size (100,000) gives 31 provinces, 341 cities and 3,069 counties: 3,441 offices. A
    smaller size keeps the shape and cuts the number of provinces (and, below one province, of cities).
    """
    per_province = (1 + cities_per_province * (1 + counties_per_city)) * office_units
    n_provinces = max(1, round(units / per_province))
    cities = cities_per_province
    if units < per_province:
        cities = max(1, round(units / ((1 + counties_per_city) * office_units)))
    provinces = []
    for p in range(1, n_provinces + 1):
        pid = f"p{p}"
        prov = OfficeNode(pid, "province", [f"{pid}-m{i}" for i in range(1, max(1, office_units - cities) + 1)])
        for c in range(1, cities + 1):
            cid = f"{pid}c{c}"
            city = OfficeNode(
                cid, "city", [f"{cid}-m{i}" for i in range(1, max(1, office_units - counties_per_city) + 1)]
            )
            city.parent = prov
            for k in range(1, counties_per_city + 1):
                kid = f"{cid}k{k}"
                county = OfficeNode(kid, "county", [f"{kid}-m{i}" for i in range(1, office_units + 1)], parent=city)
                city.children.append(county)
            prov.children.append(city)
        provinces.append(prov)
    return Hierarchy(provinces)


def national_plan(campaign: str, node: OfficeNode, obligation: Obligation) -> CampaignPlan:
    upper = None
    if node.parent is not None:
        upper = UpperOffice(
            id=node.parent.office_id, name=f"{node.parent.office_id}打假办", campaign=campaign, as_unit=node.office_id
        )
    counties = frozenset(c.office_id for c in node.children)
    return office_plan(campaign, node.office_id, node.unit_ids, obligation, upper=upper, counties=counties)
