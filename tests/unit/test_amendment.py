"""The difference between a plan's units and a running cycle's (domain/amendment.py), as pure code."""

import datetime as dt

from domain import amendment, cycle_spec, timeline
from schemas.amendment import AmendUnits, NewUnitsDue
from schemas.cycle import CycleSpec, CycleState, CycleUnit, UnitPhase, UnitState
from tests.plans import cycle_input, person, plan

OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing


def cycle() -> tuple[CycleSpec, CycleState]:
    spec = cycle_input(plan(3), OPENED).spec
    assert spec is not None
    due = timeline.unit_due(spec)
    return spec, CycleState(units={u.id: UnitState(unit_id=u.id, due=due) for u in spec.units}, unit_due=due)


def units(*ids: str) -> list[CycleUnit]:
    p = plan(4)
    return [u for u in cycle_spec.template_for(p, p.obligations[0]).units if u.id in ids]


def call(us: list[CycleUnit], how: NewUnitsDue = NewUnitsDue.RULE) -> AmendUnits:
    return AmendUnits(units=us, new_units_due=how, by="op")


class TestDifference:
    def test_same_units_no_difference(self) -> None:
        """The plan the cycle was started from makes no difference, and its digest is that of nothing."""
        spec, state = cycle()
        same = amendment.difference(spec, state, call(units("u1", "u2", "u3")), OPENED)
        assert same.empty and not same.refusal and same.new_units_due is None

    def test_added_withdrawn_changed_kept(self) -> None:
        """A new unit is added with a deadline; a dropped unit is withdrawn unless it has reported."""
        spec, state = cycle()
        state.units["u1"].phase = UnitPhase.SUBMITTED
        u2 = units("u2")[0].model_copy(update={"leader": person("新领导", "new-leader@yaan.example")})
        diff = amendment.difference(spec, state, call([u2, *units("u4")]), OPENED + dt.timedelta(days=1))
        assert [u.id for u in diff.added] == ["u4"] and diff.withdrawn == ["u3"] and diff.kept == ["u1"]
        assert [(c.unit_id, c.fields) for c in diff.changed] == [("u2", ["leader"])]
        assert diff.new_units_due is not None and diff.new_units_due.at > state.unit_due.at
        assert diff.names == {"u1": "测试单位1", "u3": "测试单位3"}

    def test_withdrawn_unit_named_again_is_restored(self) -> None:
        spec, state = cycle()
        state.units["u3"].phase = UnitPhase.WITHDRAWN
        diff = amendment.difference(spec, state, call(units("u1", "u2", "u3")), OPENED)
        assert [u.id for u in diff.added] == ["u3"] and diff.restored == ["u3"] and not diff.withdrawn
        # Still withdrawn and still left out of the plan: nothing to do.
        assert amendment.difference(spec, state, call(units("u1", "u2")), OPENED).empty

    def test_digest_names_the_changes_not_the_moment(self) -> None:
        """The digest the office reviewed still matches a moment later; another difference does not."""
        spec, state = cycle()
        later = OPENED + dt.timedelta(hours=3)
        a = amendment.difference(spec, state, call(units("u1", "u2", "u4")), OPENED)
        assert a.digest == amendment.difference(spec, state, call(units("u1", "u2", "u4")), later).digest
        assert a.digest != amendment.difference(spec, state, call(units("u1", "u2", "u3", "u4")), OPENED).digest


class TestRefusal:
    def test_cycle_date_past(self) -> None:
        """Adding with the cycle's date once it has passed is refused; the plan's rule from today is not."""
        spec, state = cycle()
        late = state.unit_due.at + dt.timedelta(hours=1)
        four = units("u1", "u2", "u3", "u4")
        assert "has passed" in amendment.difference(spec, state, call(four, NewUnitsDue.CYCLE), late).refusal
        assert not amendment.difference(spec, state, call(four, NewUnitsDue.RULE), late).refusal

    def test_closed_cycle(self) -> None:
        spec, state = cycle()
        state.stage = state.stage.CLOSED
        assert "closed" in amendment.difference(spec, state, call(units("u1", "u2")), OPENED).refusal

    def test_bad_units(self) -> None:
        spec, state = cycle()
        u = units("u1")[0]
        cases = {
            "duplicate unit id": [u, u],
            "is not an id": [u.model_copy(update={"id": "U 1"})],
            "needs a name": [u.model_copy(update={"name": " "})],
            "reach nobody": [
                u.model_copy(update={"contacts": [person("无邮箱", "x@y.example").model_copy(update={"email": None})]})
            ],
            "names no unit": [],
        }
        for reason, us in cases.items():
            assert reason in amendment.difference(spec, state, call(us), OPENED).refusal, reason
