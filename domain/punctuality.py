"""On-time statistics (按时报送率) across campaigns and years, per unit and per office — pure.

How it counts (what a 通报 or an annual assessment 年度考核 quotes):

- One obligation is one unit in one cycle. It is **on time** when the unit's current
  report arrived by its final deadline (after an approved extension or a return for
  revision, the moved one), **late** when after, **missed** when the deadline has
  passed without one. Not yet due, waived (免报) and withdrawn obligations are shown
  but not counted: the rate is on time / (on time + late + missed), so a unit that
  joined mid-year is judged on the cycles it was in.
- **Days late** are calendar days after the due day in the office's zone (not working
  days): a report at 18:00 on the due day after a 17:30 close of business is late by 0
  days; one at 09:00 the next morning by 1. Summed (and the maximum) over late reports;
  missed obligations are counted apart, not in days.
- **Returns** count each 退回修改; **submissions** every version received.
- A cycle belongs to the year of its period: the 2026 annual summary (2026-Y) counts
  for 2026 even when its deadline or its escalations fall in January 2027.
- An office is its units' obligations added up, with its own report upward (its
  roll-up forwarded by the upward deadline) counted beside them, not mixed in.
"""

import datetime as dt
import re
from collections.abc import Iterable
from typing import TypeVar
from zoneinfo import ZoneInfo

from schemas.cycle import CycleStatus, UnitPhase, UnitRow
from schemas.stats import (
    CycleOutcomes,
    OfficeStats,
    Outcome,
    StatsInput,
    StatsReport,
    SubjectStats,
    Tally,
    UnitOutcome,
)

S = TypeVar("S", bound=SubjectStats)
_YEAR = re.compile(r"^(\d{4})-")
# The amendment of running cycles may withdraw a unit; its phase reads so (no such phase before).
_WITHDRAWN = "withdrawn"


def year_of_label(period: str) -> int | None:
    """The year a period label names (2026-Y, 2026-H1, 2026-M11, 2026-0315T0900), if it names one."""
    found = _YEAR.match(period)
    return int(found.group(1)) if found else None


def period_year(period: str, due_at: dt.datetime, tz: str) -> int:
    """The period's year; for a label without one, the year of the due day in the office's zone."""
    year = year_of_label(period)
    return year if year is not None else due_at.astimezone(ZoneInfo(tz)).year


def unit_outcome(row: UnitRow) -> UnitOutcome:
    """What one unit's row on a cycle's board comes to."""
    late = row.submitted_at is not None and row.submitted_at > row.due.at
    if row.phase.value == _WITHDRAWN:
        outcome = Outcome.WITHDRAWN
    elif row.phase is UnitPhase.WAIVED:
        outcome = Outcome.WAIVED
    elif row.phase is UnitPhase.SUBMITTED:
        outcome = Outcome.LATE if late else Outcome.ON_TIME
    else:  # pending, or returned and owing a revision against its new deadline
        outcome = Outcome.MISSED if row.overdue else Outcome.OPEN
    return UnitOutcome(
        unit_id=row.unit_id,
        unit_name=row.unit_name,
        outcome=outcome,
        days_late=row.days_late if outcome is Outcome.LATE else 0,
        returns=row.returns,
        submissions=row.submissions,
    )


def upward_outcome(status: CycleStatus) -> UnitOutcome | None:
    """The office's own report to its upper office, when the plan sets an upward deadline."""
    due = status.upward_due
    if due is None:
        return None
    sent = status.forwarded_at
    if sent is not None:
        late = sent > due.at
        outcome = Outcome.LATE if late else Outcome.ON_TIME
        days = max(0, (sent.astimezone(ZoneInfo(due.tz)).date() - due.at.astimezone(ZoneInfo(due.tz)).date()).days)
    else:
        outcome = Outcome.MISSED if status.now > due.at else Outcome.OPEN
        days = 0
    return UnitOutcome(
        unit_id=status.office_id,
        unit_name=status.office_id,
        outcome=outcome,
        days_late=days if outcome is Outcome.LATE else 0,
        submissions=1 if sent is not None else 0,
    )


def cycle_outcomes(status: CycleStatus) -> CycleOutcomes:
    due = status.unit_due
    return CycleOutcomes(
        cycle_id=status.cycle_id,
        campaign_id=status.campaign_id,
        office_id=status.office_id,
        period=status.period,
        year=period_year(status.period, due.at, due.tz),
        obligation=status.obligation,
        due_at=due.at,
        units=[unit_outcome(r) for r in status.units],
        upward=upward_outcome(status),
    )


def selected(cycle: CycleOutcomes, data: StatsInput) -> bool:
    f = data.filter
    return (
        (not f.campaign or cycle.campaign_id == f.campaign)
        and (f.year is None or cycle.year == f.year)
        and (not f.office or cycle.office_id == f.office)
    )


def add(tally: Tally, one: UnitOutcome) -> None:
    """Count one obligation into a tally."""
    tally.cycles += 1
    field = one.outcome.value
    setattr(tally, field, getattr(tally, field) + 1)
    if one.outcome is Outcome.LATE:
        tally.days_late += one.days_late
        tally.max_days_late = max(tally.max_days_late, one.days_late)
    tally.returns += one.returns
    tally.submissions += one.submissions


def _count(subject: SubjectStats, cycle: CycleOutcomes, one: UnitOutcome) -> None:
    for tally in (
        subject.total,
        subject.by_year.setdefault(cycle.year, Tally()),
        subject.by_campaign.setdefault(cycle.campaign_id, Tally()),
    ):
        add(tally, one)


def _ranked(subjects: Iterable[S]) -> list[S]:
    # Best rate first (a unit with nothing counted yet last), then by id, so a 通报 reads the same every time.
    return sorted(subjects, key=lambda s: (s.total.rate is None, -(s.total.rate or 0.0), s.office_id, s.id))


def compute(data: StatsInput) -> StatsReport:
    """Every unit's and every office's tallies over the cycles the filter selects."""
    cycles = sorted((c for c in data.cycles if selected(c, data)), key=lambda c: (c.due_at, c.cycle_id))
    units: dict[tuple[str, str], SubjectStats] = {}
    offices: dict[str, OfficeStats] = {}
    for cycle in cycles:
        office = offices.setdefault(cycle.office_id, OfficeStats(id=cycle.office_id, name=cycle.office_id))
        for one in cycle.units:
            unit = units.setdefault((cycle.office_id, one.unit_id), SubjectStats(id=one.unit_id, name=one.unit_name))
            unit.office_id = cycle.office_id
            unit.name = one.unit_name  # the latest cycle's name: a unit renamed keeps its new name
            _count(unit, cycle, one)
            _count(office, cycle, one)
        if cycle.upward is not None:
            add(office.upward, cycle.upward)
            add(office.upward_by_year.setdefault(cycle.year, Tally()), cycle.upward)
    return StatsReport(
        filter=data.filter,
        cycles=len(cycles),
        years=sorted({c.year for c in cycles}),
        campaigns=sorted({c.campaign_id for c in cycles}),
        office_ids=sorted(offices),
        units=_ranked(units.values()),
        offices=_ranked(offices.values()),
        rows=cycles,
    )
