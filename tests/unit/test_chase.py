"""催办 now's rules (domain/chase.py): whom a chase reaches and when it may not go, on real calendars."""

import datetime as dt
from zoneinfo import ZoneInfo

from domain import chase
from schemas.calendar import Due
from schemas.cycle import CycleSpec, CycleState, RemindNow, UnitPhase, UnitState
from tests.plans import cycle_input, plan

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai


def setup() -> tuple[CycleSpec, CycleState]:
    spec = cycle_input(plan(3), OPENED).spec
    assert spec is not None
    due = Due(at=OPENED + dt.timedelta(days=10), rule="")
    units = {f"u{i}": UnitState(unit_id=f"u{i}", due=due) for i in (1, 2, 3)}
    units["u2"].phase = UnitPhase.SUBMITTED
    units["u3"].phase = UnitPhase.WAIVED
    return spec, CycleState(units=units, unit_due=due)


def call(*units: str, urgent: bool = False) -> RemindNow:
    return RemindNow(key="click-0001", unit_ids=list(units), urgent=urgent, by="op")


def local(y: int, m: int, d: int, h: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=SHANGHAI)


class TestWhom:
    def test_none_named_is_everyone_still_owing(self) -> None:
        """No unit named: the units still owing (submitted and waived ones are left alone)."""
        _, state = setup()
        assert chase.targets(state, []) == ["u1"]
        assert chase.targets(state, ["u1", "u1"]) == ["u1"]

    def test_unknown_or_settled_units_are_refused(self) -> None:
        """A unit the cycle does not have, or one with nothing outstanding, is a refusal naming it."""
        spec, state = setup()
        at = local(2026, 3, 3, 10)
        assert "unknown unit 'nobody'" in str(chase.refusal(spec, state, call("nobody"), at))
        assert "u2 has nothing outstanding (submitted)" in str(chase.refusal(spec, state, call("u2"), at))
        assert chase.refusal(spec, state, call("u1"), at) is None

    def test_nobody_owing(self) -> None:
        """Everyone settled and no unit named: nothing to chase, said so."""
        spec, state = setup()
        state.units["u1"].phase = UnitPhase.SUBMITTED
        assert "nobody to chase" in str(chase.refusal(spec, state, call(), local(2026, 3, 3, 10)))


class TestWhen:
    def test_send_window_on_working_days_only(self) -> None:
        """Tuesday 10:00 goes; 20:00, a Saturday, and 2026's National Day holiday do not, unless urgent."""
        spec, state = setup()
        assert chase.refusal(spec, state, call("u1"), local(2026, 3, 3, 10)) is None
        for at in (local(2026, 3, 3, 20), local(2026, 3, 7, 10), local(2026, 10, 2, 10)):
            assert "outside the send window" in str(chase.refusal(spec, state, call("u1"), at))
            assert chase.refusal(spec, state, call("u1", urgent=True), at) is None

    def test_a_make_up_working_day_is_a_working_day(self) -> None:
        """Sunday 2026-09-20 is a make-up working day (调休) in the 2026 arrangement: a chase goes."""
        spec, _ = setup()
        assert chase.in_send_window(spec, local(2026, 9, 20, 10)) is True
