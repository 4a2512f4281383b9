"""The board's compact view (domain/cycle_board.py): the same lights, names, dues and counts as the full
status the board was drawn from before, and at most `max_units` lights, the most urgent first."""

import datetime as dt
import re
from pathlib import Path

import pytest

from console.web.context import Console
from console.web.pages import cycle_url
from domain.cycle_board import board_of_status, cycle_board
from domain.cycle_views import cycle_status
from schemas.calendar import Due
from schemas.cycle import CycleSpec, CycleState, ExtensionRequest, Light, UnitPhase, UnitState
from tests.plans import cycle_input, plan
from workers.settings import Settings

OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def mixed(now: dt.datetime) -> tuple[CycleSpec, CycleState]:
    """Eight units, one of each kind the board tells apart; the cycle's due is 10 days after opening.

    u1 pending, u2 submitted, u3 waived, u4 returned with a due of its own (due soon), u5 overdue on an
    earlier due of its own, u6 pending with an extension requested, u7 pending, u8 withdrawn by an amendment."""
    spec = cycle_input(plan(8), OPENED).spec
    assert spec is not None
    due = Due(at=OPENED + dt.timedelta(days=10), rule="10 days", rule_zh="10日")
    units = {u.id: UnitState(unit_id=u.id, due=due) for u in spec.units}
    units["u2"].phase = UnitPhase.SUBMITTED
    units["u3"].phase = UnitPhase.WAIVED
    units["u4"].phase = UnitPhase.RETURNED
    units["u4"].due = Due(at=now + dt.timedelta(days=1), rule="returned", rule_zh="退回")
    units["u5"].due = Due(at=now - dt.timedelta(days=1), rule="shortened", rule_zh="提前")
    units["u6"].extension = ExtensionRequest(reason="人手不足", wanted=dt.date(2026, 3, 20), requested_at=now)
    units["u8"].phase = UnitPhase.WITHDRAWN
    return spec, CycleState(units=units, unit_due=due)


NOW = OPENED + dt.timedelta(days=3)


class TestSameAsTheFullStatus:
    def test_every_unit_as_the_status_shows_it(self) -> None:
        """Within the limit: every unit in the plan's order, with the status row's name, light, due and countdown."""
        spec, state = mixed(NOW)
        status = cycle_status(spec, state, NOW)
        board = cycle_board(spec, state, NOW, 100)
        assert board.counts == status.counts
        assert (board.cycle_id, board.stage, board.unit_due, board.now) == (
            status.cycle_id,
            status.stage,
            status.unit_due,
            status.now,
        )
        assert [u.unit_id for u in board.units] == [r.unit_id for r in status.units]
        for unit, row in zip(board.units, status.units, strict=True):
            assert (unit.unit_name, unit.light, unit.phase) == (row.unit_name, row.light, row.phase)
            assert board.due_of(unit) == row.due
            assert unit.owed == (row.phase in (UnitPhase.PENDING, UnitPhase.RETURNED))
            assert unit.extension_requested == row.extension_requested
        assert board.units_left_out == 0
        # Only the units whose due is not the cycle's carry one.
        assert [u.unit_id for u in board.units if u.own_due] == ["u4", "u5"]

    @pytest.mark.parametrize("limit", [0, 1, 3, 5, 7, 8, 100])
    def test_state_and_archived_status_give_the_same_board(self, limit: int) -> None:
        """The query's board and the board of an archived cycle's status are equal, at every limit."""
        spec, state = mixed(NOW)
        assert cycle_board(spec, state, NOW, limit) == board_of_status(cycle_status(spec, state, NOW), limit)


class TestLargeCycles:
    def test_the_most_urgent_lights_and_how_many_are_left_out(self) -> None:
        """Over the limit: overdue first, then the extension request, due soon, pending (plan order among equals)."""
        spec, state = mixed(NOW)
        board = cycle_board(spec, state, NOW, 5)
        assert [(u.unit_id, u.light) for u in board.units] == [
            ("u5", Light.RED),
            ("u6", Light.BLUE),
            ("u4", Light.YELLOW),
            ("u1", Light.BLUE),
            ("u7", Light.BLUE),
        ]
        assert board.units_left_out == 3  # u2, u3 and the withdrawn u8
        assert board.counts["total"] == 7  # the figures count every unit that owes the report, shown or not
        # The waiting extension request is on the cycle's badge even when its unit's light is not shown.
        only_one = cycle_board(spec, state, NOW, 1)
        assert [u.unit_id for u in only_one.units] == ["u5"] and only_one.asking == ["测试单位6"]

    def test_a_thousand_units_carry_a_hundred_lights(self) -> None:
        """A 1,000-unit cycle's board holds 100 lights and every unit's figures, far smaller than its status."""
        spec = cycle_input(plan(1000), OPENED).spec
        assert spec is not None
        due = Due(at=OPENED + dt.timedelta(days=10), rule="10 days", rule_zh="10日")
        state = CycleState(units={u.id: UnitState(unit_id=u.id, due=due) for u in spec.units}, unit_due=due)
        state.units["u999"].phase = UnitPhase.SUBMITTED
        board = cycle_board(spec, state, NOW, 100)
        assert len(board.units) == 100 and board.units_left_out == 900
        assert board.counts == {
            "total": 1000,
            "submitted": 1,
            "waived": 0,
            "pending": 999,
            "overdue": 0,
            "withdrawn": 0,
        }
        assert "u999" not in {u.unit_id for u in board.units}  # submitted ranks after pending
        full = len(cycle_status(spec, state, NOW).model_dump_json())
        assert len(board.model_dump_json()) * 20 < full


class TestBoardPage:
    def test_a_large_cycle_shows_its_lights_and_says_how_many_are_left_out(self, tmp_path: Path) -> None:
        """board.html draws each light given, with its due and countdown, and points to the cycle page for the rest."""
        spec, state = mixed(NOW)
        board = cycle_board(spec, state, NOW, 5)
        env = Console(Settings(data_dir=tmp_path)).templates.env
        html = env.get_template("board.html").render(
            statuses=[board], campaigns=[], campaign="", period="", totals={}, info_boards=[], channel_url=str,
            cycle_url=cycle_url, user=None, csrf="", flash=None,
        )  # fmt: skip
        lights = re.findall(r'data-unit="([^"]+)" data-light="([^"]+)"', html)
        assert lights == [("u5", "red"), ("u6", "blue"), ("u4", "yellow"), ("u1", "blue"), ("u7", "blue")]
        assert 'data-left-out="3"' in html and "其余 3 个单位" in html
        # u4's own due (in a day) and the cycle's (a week away) each count down in the light's title.
        assert re.search(r'data-unit="u4".*?title="即将到期 · 截止 [^"]*（1天后截止）"', html, re.S)
        assert re.search(r'data-unit="u1".*?title="未到期 · 截止 2026-03-12 09:00（1周后截止）"', html, re.S)
