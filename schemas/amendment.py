"""Amending a running cycle from an edited plan: the call, the difference it makes, the answer.

The office sends the plan's units for the cycle (`AmendUnits`); the cycle works out the
difference itself (domain/amendment.py) — the same code answers the preview query and applies
the Update — so what the office saw is what is applied, and the same plan twice changes nothing.
"""

from enum import StrEnum

from pydantic import Field

from schemas.base import Model
from schemas.calendar import Due
from schemas.cycle import CycleUnit

# The plan check's limit of units under one office (domain/plan_check.MAX_UNITS_PER_OFFICE); a cycle
# holds its withdrawn units too (they stay on the board), so the limit counts them.
MAX_CYCLE_UNITS = 500


class NewUnitsDue(StrEnum):
    """A new unit's deadline: the plan's rule counted from today, or the cycle's own unit deadline."""

    RULE = "rule"
    CYCLE = "cycle"


class AmendUnits(Model):
    """The plan's units for this cycle, in the plan's order: units it lacks are added, units it no longer
    names are withdrawn, units whose name, contacts, leader or work areas differ are changed.

    `expect` is the digest of the difference the office reviewed (empty: whatever it is now); when the
    cycle changed since, the call is refused rather than applying something nobody saw."""

    units: list[CycleUnit] = Field(max_length=MAX_CYCLE_UNITS + 1)
    new_units_due: NewUnitsDue = NewUnitsDue.RULE
    expect: str = Field(default="", pattern=r"^([0-9a-f]{16})?$")
    by: str = Field(min_length=1, max_length=100)


class UnitChange(Model):
    """One unit whose entry the plan changes: which fields, and the unit as the plan now has it."""

    unit_id: str
    fields: list[str]
    unit: CycleUnit
    before: CycleUnit | None = None


class Amendment(Model):
    """The difference between the plan and what the cycle runs (what `preview_amendment` answers).

    `kept` lists units the plan no longer names that stay because they already reported (their report
    is part of the roll-up); `refusal` says why the amendment cannot be applied now (empty: it can)."""

    cycle_id: str
    added: list[CycleUnit] = Field(default_factory=list)
    restored: list[str] = Field(default_factory=list, description="added units that had been withdrawn before")
    withdrawn: list[str] = Field(default_factory=list)
    changed: list[UnitChange] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict, description="the names of the withdrawn and kept units")
    new_units_due: Due | None = None
    digest: str = ""
    refusal: str = ""

    @property
    def empty(self) -> bool:
        return not (self.added or self.withdrawn or self.changed)


class Amended(Model):
    """What `amend_units` answers: what changed, or that nothing had to (`unchanged`: nothing sent)."""

    cycle_id: str
    message: str
    added: list[str] = Field(default_factory=list)
    withdrawn: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    unchanged: bool = False
