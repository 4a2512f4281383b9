"""The plan preview (年度日程预览): every moment a plan's cycles will act at in a year, before anything starts.

Built only from the functions the running `ReportingCycle` calls — `cycle_spec`
to open a cycle, `timeline` for its agenda — so the preview cannot drift from
what the workflow does; `tests/workflows/test_preview_matches_run.py` runs a
cycle on the time-skipping server and checks that it acts at exactly these
moments. The preview assumes nobody reports: it lists the whole ladder, which
is what happens to a unit that never submits. Pure code, no temporalio import.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from domain import cycle_spec, timeline
from domain.legaltime.days import WEEKDAYS
from domain.legaltime.ladder import escalation_moments, reminder_moments
from domain.legaltime.wording import zh_weekday
from schemas.calendar import Due, HolidayCalendar, Moment
from schemas.cycle import CycleSpec, CycleState, UnitState, cycle_workflow_id
from schemas.plan import CampaignPlan, Period
from schemas.preview import Preview, PreviewRow

NOTICE = "notice"


def opening_state(spec: CycleSpec) -> CycleState:
    """The state a cycle starts in: every unit pending on the plan's deadline (as `ReportingCycle` opens it)."""
    unit_due = timeline.unit_due(spec)
    units = {u.id: UnitState(unit_id=u.id, due=unit_due) for u in spec.units}
    return CycleState(units=units, unit_due=unit_due, upward_due=timeline.upward_due(spec, unit_due))


def _moments_by_step(spec: CycleSpec, state: CycleState) -> dict[str, Moment]:
    """The ladder rungs with their Chinese wording and provisional mark, by agenda step.

    The agenda items carry the time and the English rule; the same ladder functions the
    agenda calls give the rest of each rung's explanation.
    """
    ob, cal, window = spec.obligation, spec.calendar, spec.obligation.send_window
    found: dict[str, Moment] = {}
    for m in reminder_moments(state.unit_due.at, ob.reminders, cal, window):
        found[f"remind:{m.key}"] = m
    for m in escalation_moments(state.unit_due.at, [e.step for e in ob.escalations], cal, window):
        found[f"escalate:{m.key}"] = m
    if state.upward_due is not None:
        for m in reminder_moments(state.upward_due.at, ob.office_reminders, cal, window):
            found[f"office_remind:{m.key}"] = m
    return found


def _row(
    spec: CycleSpec,
    kind: str,
    step: str,
    at: dt.datetime,
    unit_id: str = "",
    rule: str = "",
    rule_zh: str = "",
    provisional: bool = False,
) -> PreviewRow:
    local = at.astimezone(ZoneInfo(spec.tz))
    unit_name = next((u.name for u in spec.units if u.id == unit_id), "")
    return PreviewRow(
        obligation_id=spec.obligation.id,
        obligation_title=spec.obligation.title,
        period=spec.period,
        cycle_id=spec.cycle_id,
        unit_id=unit_id,
        unit_name=unit_name,
        kind=kind,
        step=step,
        at=at,
        local=f"{local:%Y-%m-%d %H:%M}",
        weekday=WEEKDAYS[local.weekday()],
        weekday_zh=zh_weekday(local.date()),
        rule=rule,
        rule_zh=rule_zh,
        provisional=provisional,
    )


def _due_words(due: Due | None, what: str, what_zh: str) -> tuple[str, str, bool]:
    if due is None:
        return "", "", False
    return f"{what}: {due.rule}", f"{what_zh}：{due.rule_zh}" if due.rule_zh else "", due.provisional


def _forward_words(spec: CycleSpec, state: CycleState, at: dt.datetime) -> tuple[str, str, bool]:
    """Why the roll-up goes up when it does (see `timeline.forward_at`), when nobody has reported early."""
    up = state.upward_due
    if up is None:
        return _due_words(state.unit_due, "roll-up at the unit deadline (no upward deadline)", "报送截止时汇总")
    local = at.astimezone(ZoneInfo(up.tz))
    if local.date() == up.at.astimezone(ZoneInfo(up.tz)).date() and local.time() == spec.obligation.send_window.start:
        return _due_words(up, "roll-up goes up the morning of the upward due day", "上报截止日上午自动汇总上报")
    if at == state.unit_due.at:
        return _due_words(up, "roll-up at the unit deadline (no morning before the upward one)", "报送截止时汇总上报")
    return _due_words(up, "roll-up halfway between the unit and upward deadlines", "报送截止与上报截止之间自动汇总上报")


def cycle_preview(spec: CycleSpec) -> list[PreviewRow]:
    """Every moment one cycle acts at when no unit reports: the notice, each unit's ladder, the office's items."""
    state = opening_state(spec)
    rungs = _moments_by_step(spec, state)
    rows: list[PreviewRow] = []
    shared: dict[tuple[dt.datetime, dt.datetime], list[timeline.AgendaItem]] = {}
    for unit in spec.units:
        unit_state = state.units[unit.id]
        rows.append(_row(spec, NOTICE, NOTICE, spec.opened_at, unit.id, "at the opening of the cycle", "周期开始时"))
        for item in timeline.unit_agenda(spec, unit_state, shared):
            if item.kind is timeline.ItemKind.DUE:
                rule, rule_zh, provisional = _due_words(unit_state.due, "unit deadline", "报送截止")
            else:
                rung = rungs.get(item.step)
                rule = item.rule
                rule_zh = rung.rule_zh if rung else ""
                provisional = rung.provisional if rung else False
            rows.append(_row(spec, item.kind.value, item.step, item.at, unit.id, rule, rule_zh, provisional))
    office_items = timeline.cycle_level_agenda(spec, state)
    forward = next(i.at for i in office_items if i.kind is timeline.ItemKind.FORWARD)
    for item in office_items:
        if item.kind is timeline.ItemKind.OFFICE_REMIND and item.at > forward:
            # Once the roll-up has gone up the agenda drops the office's reminders (cycle_level_agenda);
            # with a forward on the upward due morning, a reminder hours before the deadline never goes.
            continue
        rung = rungs.get(item.step)
        if item.kind is timeline.ItemKind.OFFICE_REMIND and rung is not None:
            rule, rule_zh, provisional = item.rule, rung.rule_zh, rung.provisional
        elif item.kind is timeline.ItemKind.FORWARD:
            rule, rule_zh, provisional = _forward_words(spec, state, item.at)
        else:
            rule, rule_zh, provisional = (
                f"the cycle closes {spec.keep_open_days} days after its last deadline",
                f"最后截止时间后{spec.keep_open_days}日周期结束",
                False,
            )
        rows.append(_row(spec, item.kind.value, item.step, item.at, "", rule, rule_zh, provisional))
    return sorted(rows, key=_order)


# Within one instant, the order of the process: tell, chase, fall due, escalate, then the office's part.
KIND_ORDER = (NOTICE, "remind", "due", "escalate", "office_remind", "forward", "close")


def _order(row: PreviewRow) -> tuple[dt.datetime, int, str, str]:
    return (row.at, KIND_ORDER.index(row.kind), row.unit_id, row.step)


def year_specs(plan: CampaignPlan, year: int, calendar: HolidayCalendar, now: dt.datetime) -> list[CycleSpec]:
    """The cycles the plan opens in `year`, as `campaign start` and the Schedules would open them.

    A periodic obligation opens on its `opens` day(s) of the year; a `once` obligation opens
    `now`, so it belongs to the preview of the current year only.
    """
    specs: list[CycleSpec] = []
    for ob in plan.obligations:
        template = cycle_spec.template_for(plan, ob)
        if ob.period is Period.ONCE:
            period, period_year = cycle_spec.period_of(ob, now, plan.timezone)
            opened = [(period, now)] if period_year == year else []
        else:
            opened = cycle_spec.openings(ob, year, plan.timezone)
        for period, at in opened:
            cycle_id = cycle_workflow_id(plan.id, plan.office.id, ob.id, period)
            specs.append(cycle_spec.build_spec(template, period, year, at, calendar, cycle_id))
    return specs


def year_preview(
    plan: CampaignPlan, year: int, calendar: HolidayCalendar, now: dt.datetime, unit: str | None = None
) -> Preview:
    """The year's agenda of a plan, optionally narrowed to one unit (its items, not the office's)."""
    if unit is not None and plan.unit(unit) is None:
        raise ValueError(f"unit {unit!r} is not in plan {plan.id}")
    rows = [r for spec in year_specs(plan, year, calendar, now) for r in cycle_preview(spec)]
    if unit is not None:
        rows = [r for r in rows if r.unit_id == unit]
    provisional = sorted(y for y, data in calendar.years.items() if data.provisional)
    return Preview(
        plan_id=plan.id, year=year, tz=plan.timezone, unit=unit or "", provisional_years=provisional, rows=rows
    )
