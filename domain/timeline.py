"""The agenda of a reporting cycle: every moment at which the cycle must act, as pure code.

`ReportingCycle` sleeps until the earliest item of `cycle_agenda` and the plan
preview lists the same items before anything starts, so both always agree on
when a reminder or an escalation goes out. No temporalio import here.
"""

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.legaltime.ladder import escalation_moments, reminder_moments
from domain.legaltime.periods import compute_due
from schemas.calendar import Due, DueRule, HolidayCalendar, Roll, RuleKind
from schemas.cycle import CycleSpec, CycleStage, CycleState, UnitPhase, UnitState
from schemas.plan import DueSpec

# A unit whose deadline is this close shows yellow on the board.
DUE_SOON = dt.timedelta(days=2)


class ItemKind(StrEnum):
    REMIND = "remind"  # 催办, before the unit's due moment
    DUE = "due"  # the due moment: still missing → overdue
    ESCALATE = "escalate"  # 督办 after the due moment
    OFFICE_REMIND = "office_remind"  # the office's own upward deadline approaches
    FORWARD = "forward"  # compile and forward the roll-up
    CLOSE = "close"


# What a cycle does at one instant, in the order of the notice (通知): remind the units still
# working on their report, tell the late ones they are overdue, escalate (督办), remind the office of
# its own upward deadline while it consolidates, forward the roll-up (上报), close. Declared here,
# not left to the sort order of the kinds' names.
INSTANT_ORDER: tuple[ItemKind, ...] = (
    ItemKind.REMIND,
    ItemKind.DUE,
    ItemKind.ESCALATE,
    ItemKind.OFFICE_REMIND,
    ItemKind.FORWARD,
    ItemKind.CLOSE,
)
_RANK = {kind: rank for rank, kind in enumerate(INSTANT_ORDER)}


@dataclass(frozen=True)
class AgendaItem:
    at: dt.datetime
    kind: ItemKind
    step: str  # the fired-key stem, e.g. "remind:5wd", "escalate:0:leader"
    unit_id: str | None = None  # None for cycle-level items
    index: int = -1  # escalation step index in the obligation
    rule: str = ""
    rule_zh: str = ""

    @property
    def summary(self) -> str:
        who = f" {self.unit_id}" if self.unit_id else ""
        return f"{self.step}{who}"


def _fixed_date(spec: DueSpec, year: int) -> dt.date:
    assert spec.day is not None
    month, day = (int(x) for x in spec.day.split("-"))
    return dt.date(year, month, day)


def _close(spec: DueSpec) -> dt.time | None:
    return dt.time.fromisoformat(spec.close) if spec.close else None


def due_from_spec(spec: DueSpec, year: int, anchor: dt.datetime, cal: HolidayCalendar) -> Due:
    """A plan's due spec made concrete: a fixed day of `year`, or a rule counted from `anchor`."""
    if spec.after is not None:
        return compute_due(anchor, spec.after, cal)
    rule = DueRule(kind=RuleKind.FIXED, roll=Roll(spec.roll), close=_close(spec))
    return compute_due(_fixed_date(spec, year), rule, cal)


def fixed_due(day: dt.date, cal: HolidayCalendar, close: dt.time | None = None) -> Due:
    """A date the office set by hand (extension, return for revision): due that day, not rolled."""
    return compute_due(day, DueRule(kind=RuleKind.FIXED, roll=Roll.NONE, close=close), cal)


class BadDate(ValueError):
    """A date a cycle cannot use as a unit's deadline; the message says why."""


def settable_due(day: dt.date, cal: HolidayCalendar) -> Due:
    """The deadline for a date set by hand (what `fixed_due` gives the handler), or BadDate: an Update
    validator calls this with the handler's arguments, so a handler never fails on a date it let through."""
    try:
        return fixed_due(day, cal)
    except (ValueError, OverflowError) as exc:
        raise BadDate(str(exc)) from exc


def _second_half(spec: CycleSpec) -> bool:
    return spec.period.endswith("-H2")


def unit_due(spec: CycleSpec) -> Due:
    return unit_due_from(spec, spec.opened_at)


def unit_due_from(spec: CycleSpec, anchor: dt.datetime) -> Due:
    """The plan's unit deadline counted from `anchor` (a unit added to a running cycle counts from
    the day it is added); a fixed day of the period's year is that day whatever the anchor."""
    ob = spec.obligation
    due_spec = ob.unit_due_h2 if _second_half(spec) and ob.unit_due_h2 else ob.unit_due
    return due_from_spec(due_spec, spec.period_year, anchor, spec.calendar)


def upward_due(spec: CycleSpec, unit: Due) -> Due | None:
    """The office's own deadline; a rule counts from the unit deadline ("unit due + 2 days")."""
    ob = spec.obligation
    due_spec = ob.upward_due_h2 if _second_half(spec) and ob.upward_due_h2 else ob.upward_due
    if due_spec is None:
        return None
    anchor = unit.at.astimezone(ZoneInfo(unit.tz))
    if due_spec.after is not None and due_spec.after.kind not in (RuleKind.HOURS, RuleKind.MINUTES):
        # Day periods count from the unit's last day (Art. 201: that day itself is not counted).
        return compute_due(anchor.date(), due_spec.after, spec.calendar)
    return due_from_spec(due_spec, spec.period_year, anchor, spec.calendar)


def fired_key(step: str, version: int) -> str:
    return f"{step}@{version}"


SETTLED = (UnitPhase.SUBMITTED, UnitPhase.WAIVED, UnitPhase.WITHDRAWN)


def settled(unit: UnitState) -> bool:
    """Nothing is owed: reported, exempted, or withdrawn from the cycle (none of them is chased)."""
    return unit.phase in SETTLED


def deadline_ladder(spec: CycleSpec, due: Due, since: dt.datetime) -> list[AgendaItem]:
    """The reminders, due moment and escalations of one deadline, for no unit in particular.

    Units that share a deadline share this list (and so the cycle's timers); rungs that were
    already past when the deadline was set are skipped: the notice just said it.
    """
    ob = spec.obligation
    cal = spec.calendar
    items = [
        AgendaItem(m.at, ItemKind.REMIND, f"remind:{m.key}", rule=m.rule, rule_zh=m.rule_zh)
        for m in reminder_moments(due.at, ob.reminders, cal, ob.send_window)
        if m.at >= since
    ]
    items.append(AgendaItem(due.at, ItemKind.DUE, "due", rule=due.rule, rule_zh=due.rule_zh))
    for i, esc in enumerate(ob.escalations):
        (m,) = escalation_moments(due.at, [esc.step], cal, ob.send_window)
        items.append(AgendaItem(m.at, ItemKind.ESCALATE, f"escalate:{m.key}", index=i, rule=m.rule, rule_zh=m.rule_zh))
    return items


def unit_agenda(
    spec: CycleSpec,
    unit: UnitState,
    shared: dict[tuple[dt.datetime, dt.datetime], list[AgendaItem]] | None = None,
) -> list[AgendaItem]:
    """Every moment of one unit's ladder for its current deadline, whether fired or not."""
    since = unit.due_set_at or spec.opened_at
    key = (unit.due.at, since)
    if shared is None or key not in shared:
        ladder = deadline_ladder(spec, unit.due, since)
        if shared is not None:
            shared[key] = ladder
    else:
        ladder = shared[key]
    return [replace(item, unit_id=unit.unit_id) for item in ladder]


def cycle_level_agenda(spec: CycleSpec, state: CycleState) -> list[AgendaItem]:
    items: list[AgendaItem] = []
    ob = spec.obligation
    if state.upward_due is not None and state.forwarded_at is None:
        # Once the roll-up has gone up, the office has nothing left to be reminded of.
        for m in reminder_moments(state.upward_due.at, ob.office_reminders, spec.calendar, ob.send_window):
            if m.at >= spec.opened_at:
                items.append(
                    AgendaItem(m.at, ItemKind.OFFICE_REMIND, f"office_remind:{m.key}", rule=m.rule, rule_zh=m.rule_zh)
                )
    items.append(AgendaItem(forward_at(spec, state), ItemKind.FORWARD, "forward"))
    items.append(AgendaItem(close_at(spec, state), ItemKind.CLOSE, "close"))
    return items


def forward_at(spec: CycleSpec, state: CycleState) -> dt.datetime:
    """When the roll-up goes upward by itself: as soon as every unit is settled, and at the latest
    on the morning of the upward due day (at the unit deadline when there is no upward deadline)."""
    latest = _forward_deadline(spec, state)
    if all(settled(u) for u in state.units.values()):
        return min(latest, max(spec.opened_at, max(_last_settled(u) for u in state.units.values())))
    return latest


def _last_settled(unit: UnitState) -> dt.datetime:
    done = [s.submitted_at for s in unit.submissions if not s.replaced]
    marks = [e.at for e in unit.timeline if e.what in ("waived", "withdrawn")]
    return max(done + marks) if done or marks else dt.datetime.min.replace(tzinfo=dt.UTC)


def _forward_deadline(spec: CycleSpec, state: CycleState) -> dt.datetime:
    unit_at = state.unit_due.at
    if state.upward_due is None:
        return unit_at
    tz = ZoneInfo(state.upward_due.tz)
    upward_at = state.upward_due.at
    morning = dt.datetime.combine(upward_at.astimezone(tz).date(), spec.obligation.send_window.start, tz)
    if unit_at < morning <= upward_at:
        return morning
    # Deadlines closer than a working morning (drills, demo plans in minutes): halfway between them.
    return unit_at + max(upward_at - unit_at, dt.timedelta(0)) / 2


def close_at(spec: CycleSpec, state: CycleState) -> dt.datetime:
    base = state.upward_due.at if state.upward_due else state.unit_due.at
    return base + dt.timedelta(days=spec.keep_open_days)


def pending_items(spec: CycleSpec, state: CycleState) -> list[AgendaItem]:
    """What is still to do, earliest first: unfired items of unsettled units, then cycle items."""
    items: list[AgendaItem] = []
    shared: dict[tuple[dt.datetime, dt.datetime], list[AgendaItem]] = {}
    for unit in state.units.values():
        if settled(unit):
            continue
        done = set(unit.fired)
        since = unit.due_set_at or spec.opened_at
        key = (unit.due.at, since)
        if key not in shared:
            shared[key] = deadline_ladder(spec, unit.due, since)
        # Fired rungs are dropped before the unit's copies are made: this runs twice per turn of
        # the cycle's loop over every unit (issue 17: 1,000 units must fit one workflow activation).
        items.extend(
            AgendaItem(i.at, i.kind, i.step, unit.unit_id, i.index, i.rule, i.rule_zh)
            for i in shared[key]
            if fired_key(i.step, unit.due_version) not in done
        )
    if state.stage is not CycleStage.CLOSED:
        done = set(state.fired)
        for item in cycle_level_agenda(spec, state):
            if item.kind is ItemKind.FORWARD and state.forwarded_at is not None:
                continue
            if item.step not in done:
                items.append(item)
    items.sort(key=lambda i: (i.at, _RANK[i.kind], i.unit_id or ""))
    return items


@dataclass(frozen=True)
class Step:
    """One step of what is due now: every item of one kind, or for escalations one rung's late units."""

    kind: ItemKind
    items: tuple[AgendaItem, ...]


def due_steps(due: list[AgendaItem]) -> list[Step]:
    """Everything due now as steps in `INSTANT_ORDER`: one step per kind, one per rung for escalations
    (a rung's late units are listed in one 通报). Items due at earlier moments (a worker that was
    down, a long mail batch) join the step of their kind: all of it is owed now."""
    by_kind: dict[ItemKind, list[AgendaItem]] = {kind: [] for kind in INSTANT_ORDER}
    for item in sorted(due, key=lambda i: (i.at, i.unit_id or "")):
        by_kind[item.kind].append(item)
    steps: list[Step] = []
    for kind, items in by_kind.items():
        if kind is ItemKind.ESCALATE:
            steps += [Step(kind, tuple(rung)) for rung in _rungs(items)]
        elif items:
            steps.append(Step(kind, tuple(items)))
    return steps


def legacy_due_steps(due: list[AgendaItem], then: list[AgendaItem]) -> list[Step]:
    """The order before `INSTANT_ORDER` (runs started before it must replay as they ran): item by
    item, by time and then by the kinds' names, followed by `then` (a requested roll-up), every
    escalation rung after the rest."""
    ordered = sorted(due, key=lambda i: (i.at, i.kind.value, i.unit_id or "")) + then
    steps = [Step(i.kind, (i,)) for i in ordered if i.kind is not ItemKind.ESCALATE]
    escalations = [i for i in ordered if i.kind is ItemKind.ESCALATE]
    return steps + [Step(ItemKind.ESCALATE, tuple(rung)) for rung in _rungs(escalations)]


def _rungs(escalations: list[AgendaItem]) -> list[list[AgendaItem]]:
    """Escalation items grouped by rung, rungs in the order they first fall due."""
    rungs: dict[tuple[int, str], list[AgendaItem]] = {}
    for item in escalations:
        rungs.setdefault((item.index, item.step), []).append(item)
    return list(rungs.values())


def is_overdue(unit: UnitState, now: dt.datetime) -> bool:
    return not settled(unit) and now > unit.due.at


def days_late(due_at: dt.datetime, when: dt.datetime, tz: str) -> int:
    """Calendar days after the due day, counted in the office's zone."""
    return max(0, (local_date(when, tz) - local_date(due_at, tz)).days)


def local_date(moment: dt.datetime, tz: str) -> dt.date:
    """The calendar day of a moment in the office's zone."""
    return moment.astimezone(ZoneInfo(tz)).date()
