"""Statistics across campaigns and years (年度考核, 通报): per unit and per office, what each cycle came to.

The console and `duban stats` read every cycle (running ones from Temporal, closed
ones from the archive), reduce each to `CycleOutcomes` and hand them to
`domain.punctuality.compute` in one `StatsInput`; the answer is one `StatsReport`.
"""

from enum import StrEnum

from pydantic import Field, computed_field

from schemas.base import Model, UtcDateTime


class Outcome(StrEnum):
    """What one obligation (one unit in one cycle, or an office's own upward report) came to."""

    ON_TIME = "on_time"  # reported by its (final) deadline
    LATE = "late"  # reported after it
    MISSED = "missed"  # past its deadline, not reported (so far)
    OPEN = "open"  # not reported, not yet due: not counted in the rate
    WAIVED = "waived"  # 免报: not counted
    WITHDRAWN = "withdrawn"  # taken out of the cycle: not counted


class UnitOutcome(Model):
    unit_id: str
    unit_name: str
    outcome: Outcome
    days_late: int = Field(default=0, ge=0, description="calendar days after the due day, in the office's zone")
    returns: int = Field(default=0, ge=0, description="times its report was returned for revision (退回)")
    submissions: int = Field(default=0, ge=0, description="reports received, every version")


class CycleOutcomes(Model):
    """One cycle reduced to what statistics need."""

    cycle_id: str
    campaign_id: str
    office_id: str
    period: str
    year: int = Field(
        description="the year the period belongs to: an annual summary of 2026 due in January 2027 is 2026's"
    )
    obligation: str
    due_at: UtcDateTime
    units: list[UnitOutcome] = Field(default_factory=list)
    upward: UnitOutcome | None = Field(default=None, description="the office's own report to its upper office")


class StatsFilter(Model):
    campaign: str = ""
    year: int | None = None
    office: str = ""


class StatsInput(Model):
    cycles: list[CycleOutcomes] = Field(default_factory=list)
    filter: StatsFilter = StatsFilter()


class Tally(Model):
    """Counts over some obligations. The rate is on time over on time + late + missed; open, waived and
    withdrawn ones are not counted (a unit that joined in June is judged on the cycles it was in)."""

    cycles: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    open: int = 0
    waived: int = 0
    withdrawn: int = 0
    days_late: int = Field(default=0, description="sum over late reports of the calendar days after the due day")
    max_days_late: int = 0
    returns: int = 0
    submissions: int = 0

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented way to put a property in the dump
    @property
    def counted(self) -> int:
        return self.on_time + self.late + self.missed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        return round(self.on_time / self.counted, 4) if self.counted else None


class SubjectStats(Model):
    """One unit (of one office) or one office: over everything filtered, by year and by campaign."""

    id: str
    name: str
    office_id: str = ""
    total: Tally = Tally()
    by_year: dict[int, Tally] = Field(default_factory=dict)
    by_campaign: dict[str, Tally] = Field(default_factory=dict)


class OfficeStats(SubjectStats):
    """An office: its units' obligations added up, and its own upward reports (上报) beside them."""

    upward: Tally = Tally()
    upward_by_year: dict[int, Tally] = Field(default_factory=dict)


class StatsReport(Model):
    filter: StatsFilter = StatsFilter()
    cycles: int = 0
    years: list[int] = Field(default_factory=list)
    campaigns: list[str] = Field(default_factory=list)
    office_ids: list[str] = Field(default_factory=list)
    units: list[SubjectStats] = Field(default_factory=list)
    offices: list[OfficeStats] = Field(default_factory=list)
    rows: list[CycleOutcomes] = Field(default_factory=list, description="the cycles counted, for the detail sheet")
