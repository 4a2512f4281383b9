"""The board's compact view of a cycle: its figures and the lights of the units that matter most.

The board draws ten cycles of a thousand units at once. `CycleStatus` carries every
unit's full row (its due with the rule in two languages, counters, times): ~600 KB per
1,000-unit cycle to build, encrypt, send and decode, and ten thousand lights to draw.
`CycleBoard` carries the cycle's figures and at most `CycleBoardQuery.max_units` lights —
every unit of an office-sized cycle, the most urgent ones of a larger one; the whole
list is the cycle page's (`get_status`), a unit's reasons its own page's (`get_unit`).
"""

from pydantic import Field

from schemas.base import Model, UtcDateTime
from schemas.calendar import Due
from schemas.cycle import CycleStage, Light, UnitPhase

# Every unit of a cycle up to this size has its light on the board (the plan check allows 500 per
# office; a typical office has 20–60 units).
BOARD_UNITS = 100


class CycleBoardQuery(Model):
    max_units: int = Field(default=BOARD_UNITS, ge=0, le=10_000)


class BoardUnit(Model):
    unit_id: str
    unit_name: str
    light: Light
    phase: UnitPhase
    owed: bool = Field(description="not submitted, or asked to revise: its countdown matters")
    # None when the unit's due is the cycle's (`CycleBoard.unit_due`): only extensions and returns differ.
    own_due: Due | None = None
    extension_requested: bool = False


class CycleBoard(Model):
    cycle_id: str
    campaign_id: str
    office_id: str
    period: str
    obligation: str
    stage: CycleStage
    now: UtcDateTime
    unit_due: Due
    counts: dict[str, int]
    unit_count: int = Field(description="the cycle's units, withdrawn ones included (counts['total'] leaves them out)")
    units: list[BoardUnit] = Field(
        description="every unit in the plan's order when the cycle has at most max_units; else the max_units"
        " most urgent (overdue, extension requested, due soon, pending, submitted, waived)"
    )
    asking: list[str] = Field(
        default_factory=list, description="the names of every unit whose extension request waits, shown or not"
    )
    problems: list[str] = Field(default_factory=list)

    def due_of(self, unit: BoardUnit) -> Due:
        """The unit's due moment: its own, or the cycle's."""
        return unit.own_due or self.unit_due

    @property
    def units_left_out(self) -> int:
        """Units of the cycle without a light on the board (see the cycle page)."""
        return self.unit_count - len(self.units)
