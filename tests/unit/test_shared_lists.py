"""A list message's context travels once per batch (issue 17): `share_lists` keeps one context per
list, names it on every notification that carried it, and keeps only each unit's date in its lines."""

import datetime as dt

from domain import cycle_notices as notices
from domain import timeline
from schemas.cycle import UnitState
from schemas.notify import MessageContext
from tests.plans import cycle_input, plan


def test_a_bulletin_to_every_unit_carries_its_list_once() -> None:
    inp = cycle_input(plan(6), dt.datetime(2026, 3, 2, 1, tzinfo=dt.UTC))
    spec = inp.spec
    assert spec is not None
    units = {u.id: u for u in (notices.unit_by_id(spec, c.id) for c in spec.units)}
    due = timeline.unit_due(spec)
    late = [(UnitState(unit_id=u, due=due), 3) for u in units]
    bulletin = next(i for i, e in enumerate(spec.obligation.escalations) if e.bulletin)
    messages = notices.escalation_messages(spec, "bulletin", bulletin, late, "v0")
    listed = [m for m in messages if m.context.late_units]
    assert len(listed) >= len(units) > 1  # every unit's contacts: many recipients of one list
    assert due.rule  # the full line names the rule it was counted by

    out, shared = notices.share_lists(messages)

    assert len(out) == len(messages) and [m.key for m in out] == [m.key for m in messages]
    assert all(m.shared and m.context == MessageContext() for m in out if m.key in {n.key for n in listed})
    assert len(shared) == len({id(m.context) for m in listed})  # one context per distinct list
    (context, *_) = shared.values()
    assert [line.unit_id for line in context.late_units] == list(units)
    assert all(line.due.at == due.at and line.due.rule == "" == line.due.rule_zh for line in context.late_units)
    assert all(m == o for m, o in zip(messages, out, strict=True) if not m.context.late_units)


def test_a_one_line_list_for_one_recipient_stays_in_its_message() -> None:
    """repeated_only: a unit leader's escalation (its own unit, one line) is not shared; every longer
    or repeated list still is, with date-only lines."""
    inp = cycle_input(plan(6), dt.datetime(2026, 3, 2, 1, tzinfo=dt.UTC))
    spec = inp.spec
    assert spec is not None
    due = timeline.unit_due(spec)
    late = [(UnitState(unit_id=c.id, due=due), 3) for c in spec.units]
    messages = [
        m
        for i in range(len(spec.obligation.escalations))
        for m in notices.escalation_messages(spec, f"escalate:{i}", i, late, "v0")
    ]
    one_line_alone = [
        m for m in messages if len(m.context.late_units) == 1 and sum(n.context is m.context for n in messages) == 1
    ]
    assert one_line_alone, "the plan's ladder has no per-unit rung"

    out, shared = notices.share_lists(messages, repeated_only=True)

    by_key = {m.key: m for m in out}
    assert all(by_key[m.key] == m and not by_key[m.key].shared for m in one_line_alone)
    others = [m for m in messages if m.context.late_units and m not in one_line_alone]
    assert others and all(by_key[m.key].shared for m in others)
    assert all(line.due.rule == "" for context in shared.values() for line in context.late_units)
