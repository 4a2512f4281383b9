"""`duban campaign amend` (issue 19): the installed command against the dev server, a worker and the SMTP sink.

Shows the difference per running cycle, applies it with --yes (the new unit's notice reaches the sink),
applying the same plan again changes and sends nothing, and a bad plan is refused with exit 2.
"""

import asyncio
from pathlib import Path
from typing import Any

import yaml

from schemas.cycle import Light, SubmitReport, UnitPhase
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import duban
from workflows.reporting_cycle import ReportingCycle


def plan_yaml(stack: CycleStack, obligation: str, units: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The plan of a cycle `CycleStack.open_cycle(obligation)` opened, with these units (id → name, email)."""
    return {
        "id": stack.campaign,
        "title": "测试专项行动",
        "document": {"number": "测试〔2026〕1号", "title": "关于报送工作总结的通知"},
        "office": {"id": "test-office", "name": "测试打假办", "email": "office@duban.example"},
        "contact": {"name": "郑继勇", "phone": "2824527"},
        "units": [
            {"id": uid, "name": name, "contacts": [{"name": f"{name}联络员", "email": email}]}
            for uid, (name, email) in units.items()
        ],
        "obligations": [
            {
                "id": obligation,
                "title": f"{obligation} 工作总结",
                "period": "once",
                "unit_due": {"after": {"kind": "days", "n": 10}},
            }
        ],
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def notices_to(stack: CycleStack, address: str, at_least: int) -> int:
    for _ in range(100):
        found = len(stack.mail_to(address))
        if found >= at_least:
            return found
        await asyncio.sleep(0.2)
    return len(stack.mail_to(address))


class TestCampaignAmend:
    async def test_show_apply_and_apply_again(self, cycle_stack: CycleStack, tmp_path: Path) -> None:
        """The table names every change; --yes applies it (unit-d's notice arrives, unit-c is withdrawn); the
        same plan again shows no difference and sends nothing."""
        stack = cycle_stack
        cid = (await stack.open_cycle("amending")).id
        handle = stack.client.get_workflow_handle(cid)
        await handle.execute_update(ReportingCycle.submit_report, SubmitReport(unit_id="unit-b", title="总结"))
        units = {
            "unit-a": ("甲单位", "unit-a-new@units.example"),  # its liaison's address changed
            "unit-d": ("丁单位", "unit-d@units.example"),  # joined the campaign
        }  # unit-b (already reported) and unit-c dropped
        plan = write(tmp_path / "plan.yaml", plan_yaml(stack, "amending", units))

        shown = await duban(stack, "campaign", "amend", str(plan))
        assert shown.code == 0, shown.err
        for word in ("新增", "unit-d", "撤回", "unit-c", "变更", "unit-a-new@units.example", "保留", "unit-b", "--yes"):
            assert word in shown.out, (word, shown.out)
        assert "unit-d" not in (await handle.query(ReportingCycle.get_state)).units, "shown only, yet applied"

        applied = (await duban(stack, "campaign", "amend", str(plan), "--yes", "--by", "张三", "--json")).json()
        (cycle,) = [c for c in applied["cycles"] if c["cycle_id"] == cid]
        assert [u["id"] for u in cycle["added"]] == ["unit-d"] and cycle["withdrawn"] == ["unit-c"]
        assert cycle["changed"] == [{"id": "unit-a", "fields": ["contacts"]}] and cycle["kept"] == ["unit-b"]
        assert cycle["applied"]["added"] == ["unit-d"] and cycle["new_units_due"]
        assert await notices_to(stack, "unit-d@units.example", 1) == 1

        state = await handle.query(ReportingCycle.get_state)
        assert state.units["unit-c"].phase is UnitPhase.WITHDRAWN and state.units["unit-d"].phase is UnitPhase.PENDING
        assert {e.detail for e in state.audit if e.by == "张三"} == {"unit-a", "unit-c", "unit-d"}

        again = await duban(stack, "campaign", "amend", str(plan), "--yes", "--json")
        assert again.code == 0, again.err
        (cycle,) = [c for c in again.json()["cycles"] if c["cycle_id"] == cid]
        assert (cycle["added"], cycle["withdrawn"], cycle["changed"], cycle["applied"]) == ([], [], [], None)
        await asyncio.sleep(2)  # time for a second notice to show up, were one sent
        assert len(stack.mail_to("unit-d@units.example")) == 1
        assert len((await handle.query(ReportingCycle.get_state)).audit) == len(state.audit)

        rows = {r.unit_id: r for r in (await handle.query(ReportingCycle.get_status)).units}
        assert rows["unit-c"].light is Light.WITHDRAWN and rows["unit-d"].light is Light.BLUE

    async def test_bad_plan_is_refused_and_changes_nothing(self, cycle_stack: CycleStack, tmp_path: Path) -> None:
        """A plan with a duplicate unit id and a unit nobody can reach: every problem with its path, exit 2."""
        stack = cycle_stack
        cid = (await stack.open_cycle("amending-bad")).id
        data = plan_yaml(stack, "amending-bad", {"unit-a": ("甲单位", "unit-a@units.example")})
        data["units"] += [{"id": "unit-a", "name": "重复"}, {"id": "unit-e", "name": "戊单位"}]
        bad = await duban(stack, "campaign", "amend", str(write(tmp_path / "bad.yaml", data)), "--yes")
        assert bad.code == 2
        assert "duplicate id 'unit-a'" in bad.err and "units[2].contacts" in bad.err
        state = await stack.client.get_workflow_handle(cid).query(ReportingCycle.get_state)
        assert sorted(state.units) == ["unit-a", "unit-b", "unit-c"]
        assert all(u.phase is UnitPhase.PENDING for u in state.units.values())
