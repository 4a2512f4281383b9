"""The board's compact view of a cycle, from its state (the `get_board` query) or from a full status
(an archived cycle, a worker from before the query).

Both paths give the same board: `cycle_board(spec, state, now, n)` equals
`board_of_status(cycle_status(spec, state, now), n)` (tests/unit/test_cycle_board.py).
"""

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

from domain.cycle_views import counts, light
from schemas.board import BoardUnit, CycleBoard
from schemas.calendar import Due
from schemas.cycle import CycleSpec, CycleState, CycleStatus, Light, UnitPhase, UnitRow

T = TypeVar("T")

# A unit whose countdown matters: it has not submitted, or was asked to revise.
OWED = frozenset({UnitPhase.PENDING, UnitPhase.RETURNED})
_LIGHT_RANK = {Light.RED: 0, Light.YELLOW: 2, Light.BLUE: 3, Light.GREEN: 4, Light.GREY: 5, Light.WITHDRAWN: 6}


def urgency(lit: Light, extension_requested: bool) -> int:
    """Overdue first, then an extension waiting for the office, due soon, pending, submitted, waived,
    withdrawn (a light added later ranks last rather than failing the board)."""
    if extension_requested and lit is not Light.RED:
        return 1
    return _LIGHT_RANK.get(lit, len(_LIGHT_RANK))


def most_urgent(items: Sequence[T], rank: Callable[[T], int], limit: int) -> list[T]:
    """All items in their order when they fit; else the `limit` most urgent, by rank then order."""
    if len(items) <= limit:
        return list(items)
    order = sorted(range(len(items)), key=lambda i: (rank(items[i]), i))
    return [items[i] for i in order[:limit]]


def _own(due: Due, cycle_due: Due) -> Due | None:
    return None if due == cycle_due else due


def cycle_board(spec: CycleSpec, state: CycleState, now: dt.datetime, limit: int) -> CycleBoard:
    """The board of a running cycle. Every unit's light is worked out (it ranks the units), but a
    model is built only for those shown."""
    lit = [(u.name, state.units[u.id]) for u in spec.units]
    lights = {unit.unit_id: light(unit, now) for _, unit in lit}
    shown = most_urgent(lit, lambda nu: urgency(lights[nu[1].unit_id], nu[1].extension is not None), limit)
    return CycleBoard(
        cycle_id=spec.cycle_id,
        campaign_id=spec.campaign_id,
        office_id=spec.office.id,
        period=spec.period,
        obligation=spec.obligation.id,
        stage=state.stage,
        now=now,
        unit_due=state.unit_due,
        counts=counts(state, now),
        unit_count=len(lit),
        units=[
            BoardUnit(
                unit_id=unit.unit_id,
                unit_name=name,
                light=lights[unit.unit_id],
                phase=unit.phase,
                owed=unit.phase in OWED,
                own_due=_own(unit.due, state.unit_due),
                extension_requested=unit.extension is not None,
            )
            for name, unit in shown
        ],
        asking=[name for name, unit in lit if unit.extension is not None],
        problems=state.problems,
    )


def _from_row(row: UnitRow, cycle_due: Due) -> BoardUnit:
    return BoardUnit(
        unit_id=row.unit_id,
        unit_name=row.unit_name,
        light=row.light,
        phase=row.phase,
        owed=row.phase in OWED,
        own_due=_own(row.due, cycle_due),
        extension_requested=row.extension_requested,
    )


def board_of_status(status: CycleStatus, limit: int) -> CycleBoard:
    """The board of a cycle known by its full status: an archived cycle, or a worker without `get_board`."""
    shown = most_urgent(status.units, lambda r: urgency(r.light, r.extension_requested), limit)
    return CycleBoard(
        cycle_id=status.cycle_id,
        campaign_id=status.campaign_id,
        office_id=status.office_id,
        period=status.period,
        obligation=status.obligation,
        stage=status.stage,
        now=status.now,
        unit_due=status.unit_due,
        counts=status.counts,
        unit_count=len(status.units),
        units=[_from_row(r, status.unit_due) for r in shown],
        asking=[r.unit_name for r in status.units if r.extension_requested],
        problems=status.problems,
    )
