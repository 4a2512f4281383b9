"""Bad plans: generated mutations of the Ya'an plan are each refused, at the field that was broken.

Every generated case replaces one to three scalar fields of the real plan (dates, ids,
counts, addresses, names, flags) with a mapping or a list, which no such field accepts:
`check_plan` must refuse the plan and name each broken field in a problem; an exception
escaping it would reach an operator as a traceback. The hand-written catalogue below
covers values of the right type that are still wrong.
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


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


SCALARS = [p for p in ALL_PATHS if not isinstance(_get(PLAN, p), dict | list)]


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


def _field_path(path: tuple[Any, ...]) -> str:
    """The plan check's spelling of a path: `units[0].contacts[0].email`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# Values no scalar field of the plan (date, id, count, address, name, flag) accepts.
wrong_type = st.one_of(
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), min_size=1, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=3), st.none(), max_size=2), min_size=1, max_size=3),
)


class TestPlanMutations:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        mutations=st.lists(
            st.tuples(st.sampled_from(SCALARS), wrong_type), min_size=1, max_size=3, unique_by=lambda m: m[0]
        )
    )
    def test_every_mutation_is_refused_at_its_field(self, calendar: HolidayCalendar, mutations: Any) -> None:
        """A scalar field given a mapping or a list is refused, with a problem at that field, never a crash."""
        plan = copy.deepcopy(PLAN)
        for path, value in mutations:
            plan = _mutate(plan, path, "replace", value)
        TRIED.append(repr(mutations)[:80])
        accepted, problems = check_plan(plan, calendar, 2026)
        assert accepted is None, f"accepted: {[_field_path(p) for p, _ in mutations]}"
        assert all(p.path and p.message for p in problems)
        paths = [p.path for p in problems]
        for path, _ in mutations:
            assert any(q.startswith(_field_path(path)) for q in paths), (_field_path(path), paths)

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
        # The largest office the check accepts, every id as long as an id may be, still fits one
        # search-attribute value (64 KiB): the unit cap is the binding limit (bench/README.md, worst path).
        assert accepted is not None and not problems, problems
        TRIED.extend(name for name, *_ in cases)
        print(f"\nbad-plan catalogue: {len(cases) + 4} hand-written cases")


def teardown_module() -> None:
    print(f"\nbad-plan mutations tried: {len(TRIED)}")
