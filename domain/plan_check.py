"""`duban plan check`: every problem of a campaign plan, each with its field path, in one pass.

Structural problems come from the schema (pydantic); the rest need the whole
plan at once — references between sections, duplicate ids, due rules that
cannot be computed, people nobody can reach.
"""

import datetime as dt
import json
from collections import Counter
from typing import Any

import yaml
from pydantic import ValidationError

from domain.cycle_spec import opening_months
from schemas.base import Model
from schemas.calendar import HolidayCalendar
from schemas.plan import CampaignPlan, DueSpec, Recipient
from schemas.visibility import VALUE_LIMIT


class Problem(Model):
    path: str
    message: str


class PlanError(ValueError):
    """A plan that cannot be used; `problems` says everything that is wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(plan)"


def parse_plan_text(text: str) -> Any:
    """The plan file's YAML as data (the caller reads the file)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError([Problem(path="(file)", message=f"not valid YAML: {exc}")]) from exc


def check_plan(data: Any, calendar: HolidayCalendar, year: int) -> tuple[CampaignPlan | None, list[Problem]]:
    """Validate a loaded plan; returns the plan only when there is no problem at all."""
    if not isinstance(data, dict):
        return None, [Problem(path="(plan)", message="a plan is a mapping of fields (see examples/)")]
    try:
        plan = CampaignPlan.model_validate(data)
    except ValidationError as exc:
        return None, [Problem(path=_path(e["loc"]), message=e["msg"]) for e in exc.errors()]
    problems = _cross_checks(plan) + _due_checks(plan, calendar, year)
    return (None if problems else plan), problems


# One office's cycle carries all its units in one workflow. The largest office measured to run the
# worst path to its end (`python -m bench --only worst`, bench/README.md "Worst path"): 500 units
# completed in 11 min, 1.8 MB of history, largest event 10.7 KB. 1,000 units stayed within every
# Temporal limit (3.6 MB, largest event 19.6 KB, no call refused) but had not completed ten minutes
# after the office's close on the shared 2-core machine (the mail drain), so it is not the limit
# until a run shows it. Bigger campaigns shard by office, as real ones do.
MAX_UNITS_PER_OFFICE = 500


def _duplicates(ids: list[str], path: str) -> list[Problem]:
    return [Problem(path=path, message=f"duplicate id {i!r}") for i, n in Counter(ids).items() if n > 1]


def _cross_checks(plan: CampaignPlan) -> list[Problem]:
    problems: list[Problem] = []
    unit_ids = {u.id for u in plan.units}
    ids_bytes = len(json.dumps(sorted(unit_ids)))
    if ids_bytes > VALUE_LIMIT:
        problems.append(
            Problem(
                path="units",
                message=f"the unit ids take {ids_bytes} bytes, over the {VALUE_LIMIT} a search attribute may hold"
                " (a cycle lists its pending units in one): use shorter ids or fewer units per office",
            )
        )
    if len(plan.units) > MAX_UNITS_PER_OFFICE:
        problems.append(
            Problem(
                path="units",
                message=f"{len(plan.units)} units under one office; at most {MAX_UNITS_PER_OFFICE}:"
                " give groups of units their own (lower) office plan reporting into this one",
            )
        )
    problems += _duplicates([u.id for u in plan.units], "units")
    problems += _duplicates([o.id for o in plan.obligations], "obligations")
    problems += _duplicates([a.id for a in plan.work_areas], "work_areas")
    problems += _duplicates([p.name for p in plan.referral_policies], "referral_policies")
    for i, area in enumerate(plan.work_areas):
        for j, ref in enumerate(area.responsible):
            if ref not in unit_ids:
                problems.append(Problem(path=f"work_areas[{i}].responsible[{j}]", message=f"unknown unit {ref!r}"))
    for i, unit in enumerate(plan.units):
        if not any(c.email or c.webhook for c in unit.contacts):
            problems.append(
                Problem(path=f"units[{i}].contacts", message=f"unit {unit.id} has no contact with an email or webhook")
            )
    for i, ob in enumerate(plan.obligations):
        for j, ref in enumerate(ob.units or []):
            if ref not in unit_ids:
                problems.append(Problem(path=f"obligations[{i}].units[{j}]", message=f"unknown unit {ref!r}"))
        if any(h not in (1, 2) for h in ob.halves):
            problems.append(Problem(path=f"obligations[{i}].halves", message="halves are 1 and/or 2"))
        for j, esc in enumerate(ob.escalations):
            if Recipient.LEADERSHIP in esc.recipients and not plan.leadership:
                problems.append(
                    Problem(
                        path=f"obligations[{i}].escalations[{j}].recipients",
                        message="escalates to the leadership, but the plan names no leadership",
                    )
                )
            if Recipient.OFFICE in esc.recipients and not (plan.office.staff or plan.office.email):
                problems.append(
                    Problem(
                        path=f"obligations[{i}].escalations[{j}].recipients",
                        message="escalates to the office, but the office has no email or staff",
                    )
                )
    problems += _opening_days(plan)
    upper = plan.upper_office
    if upper is not None and bool(upper.campaign) != bool(upper.as_unit):
        problems.append(Problem(path="upper_office", message="give both 'campaign' and 'as_unit', or neither"))
    if upper is not None and not (upper.email or upper.campaign):
        problems.append(
            Problem(path="upper_office", message="the upper office needs an email or a campaign to submit into")
        )
    return problems


# The fewest days each month can have (February: 28, leap years or not).
_SHORTEST_MONTH = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _opening_days(plan: CampaignPlan) -> list[Problem]:
    """A periodic cycle opens on its day in every opening month: a Temporal Schedule skips a month that
    has no such day (a monthly obligation opening on the 31st would open seven times a year). The rule:
    the opening day must exist in every month it opens in (days 1-28 for monthly obligations)."""
    problems = []
    for i, ob in enumerate(plan.obligations):
        day = int(ob.opens.split("-")[1])
        short = [m for m in opening_months(ob) if day > _SHORTEST_MONTH[m]]
        if short:
            problems.append(
                Problem(
                    path=f"obligations[{i}].opens",
                    message=f"opens on day {day}, which month(s) {', '.join(map(str, short))} may not have;"
                    " the cycle would not open there: choose a day every opening month has"
                    + (" (1-28 for a monthly obligation)" if ob.period.value == "monthly" else ""),
                )
            )
    return problems


def _due_checks(plan: CampaignPlan, calendar: HolidayCalendar, year: int) -> list[Problem]:
    # Imported here: the plan schema stays importable without the legal-time code.
    from domain.timeline import due_from_spec

    problems: list[Problem] = []
    anchor = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    specs: list[tuple[str, DueSpec | None]] = []
    for i, ob in enumerate(plan.obligations):
        specs += [
            (f"obligations[{i}].unit_due", ob.unit_due),
            (f"obligations[{i}].unit_due_h2", ob.unit_due_h2),
            (f"obligations[{i}].upward_due", ob.upward_due),
            (f"obligations[{i}].upward_due_h2", ob.upward_due_h2),
        ]
    for path, spec in specs:
        if spec is None:
            continue
        try:
            due_from_spec(spec, year, anchor, calendar)
        except (ValueError, OverflowError) as exc:
            problems.append(Problem(path=path, message=f"cannot compute this due date: {exc}"))
    return problems
