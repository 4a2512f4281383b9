"""What a cycle does at one instant: the notice's order, declared in domain/timeline.py, not the kinds' names."""

import datetime as dt
import itertools

from domain.timeline import INSTANT_ORDER, AgendaItem, ItemKind, due_steps, legacy_due_steps

T = dt.datetime(2026, 6, 13, 16, 0, tzinfo=dt.UTC)


def item(kind: ItemKind, unit: str | None = None, at: dt.datetime = T, index: int = -1, step: str = "") -> AgendaItem:
    return AgendaItem(at, kind, step or kind.value, unit, index)


def one_of_each() -> list[AgendaItem]:
    return [
        item(ItemKind.CLOSE),
        item(ItemKind.FORWARD, step="forward"),
        item(ItemKind.OFFICE_REMIND, step="office_remind:1d"),
        item(ItemKind.ESCALATE, "u1", index=0, step="escalate:leader"),
        item(ItemKind.DUE, "u2", step="due"),
        item(ItemKind.REMIND, "u3", step="remind:1d"),
    ]


class TestDeclaredOrder:
    def test_the_order_is_the_notices(self) -> None:
        """remind → due → escalate → office reminder (consolidate) → forward → close, every kind once."""
        assert INSTANT_ORDER == (
            ItemKind.REMIND,
            ItemKind.DUE,
            ItemKind.ESCALATE,
            ItemKind.OFFICE_REMIND,
            ItemKind.FORWARD,
            ItemKind.CLOSE,
        )
        assert set(INSTANT_ORDER) == set(ItemKind)

    def test_one_instant_is_acted_on_in_the_declared_order_whatever_the_input_order(self) -> None:
        """Every input order, same steps; the kinds' names (close < due < escalate < ...) decide nothing."""
        for items in itertools.permutations(one_of_each()):
            assert [s.kind for s in due_steps(list(items))] == list(INSTANT_ORDER)

    def test_each_escalation_rung_is_one_step_with_all_its_units(self) -> None:
        """Two rungs at one instant: one step each (one 通报 per rung), in the order the rungs fall due."""
        items = [
            item(ItemKind.ESCALATE, "u2", index=1, step="escalate:leadership", at=T + dt.timedelta(minutes=1)),
            item(ItemKind.ESCALATE, "u1", index=0, step="escalate:leader"),
            item(ItemKind.ESCALATE, "u2", index=0, step="escalate:leader"),
            item(ItemKind.ESCALATE, "u1", index=1, step="escalate:leadership", at=T + dt.timedelta(minutes=1)),
        ]
        steps = due_steps(items)
        assert [(s.kind, s.items[0].step, [i.unit_id for i in s.items]) for s in steps] == [
            (ItemKind.ESCALATE, "escalate:leader", ["u1", "u2"]),
            (ItemKind.ESCALATE, "escalate:leadership", ["u1", "u2"]),
        ]

    def test_items_owed_since_earlier_join_their_kinds_step(self) -> None:
        """A reminder owed since an hour ago (a worker that was down) goes out with this instant's, before the due."""
        items = [
            item(ItemKind.DUE, "u1"),
            item(ItemKind.REMIND, "u2"),
            item(ItemKind.REMIND, "u1", at=T - dt.timedelta(hours=1)),
        ]
        steps = due_steps(items)
        assert [(s.kind, [i.unit_id for i in s.items]) for s in steps] == [
            (ItemKind.REMIND, ["u1", "u2"]),
            (ItemKind.DUE, ["u1"]),
        ]

    def test_several_reasons_to_forward_make_one_forward_step(self) -> None:
        """The roll-up's own moment and an office's `duban forward` at the same turn: forwarded once."""
        steps = due_steps([item(ItemKind.FORWARD, step="forward"), item(ItemKind.FORWARD, step="forward")])
        assert [s.kind for s in steps] == [ItemKind.FORWARD]


class TestLegacyOrder:
    def test_runs_from_before_the_declared_order_keep_theirs(self) -> None:
        """Item by item by the kinds' names, a requested forward after them, escalations last."""
        steps = legacy_due_steps(one_of_each(), [item(ItemKind.FORWARD, step="forward")])
        assert [s.kind for s in steps] == [
            ItemKind.CLOSE,
            ItemKind.DUE,
            ItemKind.FORWARD,
            ItemKind.OFFICE_REMIND,
            ItemKind.REMIND,
            ItemKind.FORWARD,
            ItemKind.ESCALATE,
        ]

    def test_earlier_items_come_first_there(self) -> None:
        """By time first: an earlier reminder before a later due moment, one step per item."""
        steps = legacy_due_steps([item(ItemKind.DUE, "u1"), item(ItemKind.REMIND, "u2", at=T - dt.timedelta(1))], [])
        assert [(s.kind, len(s.items)) for s in steps] == [(ItemKind.REMIND, 1), (ItemKind.DUE, 1)]
