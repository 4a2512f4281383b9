"""Bad plans: generated mutations of the Ya'an plan always give a clear answer, never a crash.

`check_plan` must either accept a plan or list problems, each with a field path and a
message; any exception escaping it would reach an operator as a traceback.
"""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.holidays import load_calendar
from domain.plan_check import MAX_UNITS_PER_OFFICE, check_plan
from schemas.calendar import HolidayCalendar

PLAN = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "yaan-2017.yaml").read_text("utf-8"))
TRIED: list[str] = []

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["13-45", "02-30", "u1", "", "../../etc/passwd", "\x00", "yaan-gaj", "next", "minutes"]),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


ALL_PATHS = _paths(PLAN)


def _mutate(plan: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> dict[str, Any]:
    parent: Any = plan
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = value
    return plan


@pytest.fixture(scope="module")
def calendar() -> HolidayCalendar:
    return load_calendar([2026, 2027])


class TestPlanMutations:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        mutations=st.lists(
            st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete", "duplicate"]), junk),
            min_size=1,
            max_size=3,
        )
    )
    def test_every_mutation_gets_an_answer_with_field_paths(self, calendar: HolidayCalendar, mutations: Any) -> None:
        """A mutated plan is accepted or refused with problems that name a field; it never crashes."""
        plan = copy.deepcopy(PLAN)
        for path, action, value in mutations:
            try:
                plan = _mutate(plan, path, action, value)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed this path: nothing to do
        TRIED.append(repr(mutations)[:80])
        accepted, problems = check_plan(plan, calendar, 2026)
        if accepted is None:
            assert problems, "a refused plan must say why"
            assert all(p.path and p.message for p in problems)
        else:
            assert problems == []

    def test_known_bad_plans_name_the_field(self, calendar: HolidayCalendar) -> None:
        """The catalogue's hand-written cases: each is refused at the field that is wrong."""
        cases: list[tuple[str, tuple[Any, ...], Any, str]] = [
            (
                "unknown unit in a work area",
                ("work_areas", 0, "responsible", 0),
                "nobody",
                "work_areas[0].responsible[0]",
            ),
            ("impossible fixed date", ("obligations", 1, "unit_due", "day"), "02-30", "obligations[1].unit_due"),
            ("bad roll", ("obligations", 1, "unit_due", "roll"), "sideways", "obligations[1].unit_due"),
            ("negative count", ("obligations", 2, "unit_due", "after", "n"), -1, "obligations[2].unit_due.after.n"),
            ("bad email", ("units", 0, "contacts", 0, "email"), "not-an-address", "units[0].contacts[0].email"),
            ("bad id", ("units", 0, "id"), "Has Spaces", "units[0].id"),
        ]
        for name, path, value, where in cases:
            plan = _mutate(copy.deepcopy(PLAN), path, "replace", value)
            accepted, problems = check_plan(plan, calendar, 2026)
            assert accepted is None, name
            assert any(p.path.startswith(where) for p in problems), (name, problems)
        dup = copy.deepcopy(PLAN)
        dup["units"].append(copy.deepcopy(dup["units"][0]))
        assert any(p.message.startswith("duplicate id") for p in check_plan(dup, calendar, 2026)[1])
        no_contact = copy.deepcopy(PLAN)
        no_contact["units"][0]["contacts"] = []
        assert any(p.path == "units[0].contacts" for p in check_plan(no_contact, calendar, 2026)[1])
        crowded = copy.deepcopy(PLAN)
        template = crowded["units"][0]
        crowded["units"] = [{**copy.deepcopy(template), "id": f"u{i}"} for i in range(MAX_UNITS_PER_OFFICE + 1)]
        crowded.update(work_areas=[], obligations=[{**o, "units": None} for o in crowded["obligations"]])
        accepted, problems = check_plan(crowded, calendar, 2026)
        assert accepted is None and [p.path for p in problems] == ["units"], problems
        assert "lower) office" in problems[0].message
        long_ids = copy.deepcopy(crowded)
        long_ids["units"] = long_ids["units"][:MAX_UNITS_PER_OFFICE]
        for i, unit in enumerate(long_ids["units"]):
            unit["id"] = f"{i:04d}-" + "x" * 58  # 63 characters, the most an id may have
        accepted, problems = check_plan(long_ids, calendar, 2026)
        assert accepted is None and [p.path for p in problems] == ["units"], problems
        assert "search attribute" in problems[0].message
        TRIED.extend(name for name, *_ in cases)
        print(f"\nbad-plan catalogue: {len(cases) + 4} hand-written cases")


def teardown_module() -> None:
    print(f"\nbad-plan mutations tried: {len(TRIED)}")
