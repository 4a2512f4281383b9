"""`duban lead …` as a user runs it: the installed command in a subprocess, against a live dev server,
the production worker and a real SMTP sink. Customs refers a lead to market regulation, which hands it
to the police; every stage is acted on through the CLI and `lead show` prints the whole timeline."""

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.campaign_store import CampaignStore
from schemas.people import Contact, Person
from schemas.plan import CampaignPlan, DocumentInfo, Office, Unit
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture

DUBAN = Path(sys.executable).parent / "duban"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


async def duban(stack: CycleStack, *args: str) -> Run:
    # Not blocking the loop: the in-test worker must keep answering while the command runs.
    proc = await asyncio.create_subprocess_exec(
        str(DUBAN), *args, env=stack.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def _unit(uid: str, name: str) -> Unit:
    return Unit(
        id=uid,
        name=name,
        contacts=[Person(name=f"{name}联络员", email=f"{uid}@units.example")],
        leader=Person(name=f"{name}负责人", email=f"{uid}-leader@units.example"),
    )


@pytest.fixture(scope="module")
def lead_campaign(cycle_stack: CycleStack) -> str:
    """A started plan with customs, market regulation and police (no policies: the shipped ones apply)."""
    plan = CampaignPlan(
        id=cycle_stack.campaign,
        title="测试专项行动",
        document=DocumentInfo(number="测打假办发〔2026〕1号", title="测试方案"),
        office=Office(id="test-office", name="测试打假办", staff=[Person(name="联系人", email="office@units.example")]),
        contact=Contact(name="联系人", phone="2824527"),
        leadership=[Person(name="组长", email="leader@units.example")],
        units=[_unit("hg", "海关"), _unit("scj", "市场监管局"), _unit("gaj", "公安局")],
    )
    CampaignStore(cycle_stack.settings.campaign_dir).save(plan)
    return plan.id


async def wait_mail(stack: CycleStack, address: str, wait_s: float = 15.0) -> list[str]:
    """Decoded subjects of the messages delivered to `address`, once there is one."""
    for _ in range(int(wait_s / 0.1)):
        found = [str(m["Subject"]) for m in stack.sink.messages() if address in (m.get("X-Duban-Envelope-To") or "")]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {address}")


class TestLeadCommands:
    async def test_customs_to_market_regulation_to_police(
        self, cycle_stack: CycleStack, lead_campaign: str, tmp_path: Path
    ) -> None:
        """Every stage through the CLI; the 24-hour transfer clock; `lead show` has the whole timeline."""
        material = tmp_path / "线索材料.txt"
        material.write_text("查获疑似假冒注册商标服装 300 件。", encoding="utf-8")
        c = lead_campaign
        referred = (
            await duban(
                cycle_stack,
                "lead", "refer", "--campaign", c, "--from", "hg", "--to", "scj",
                "--policy", "between-agencies", "--title", "出口服装涉嫌假冒", "--file", str(material), "--json",
            )
        ).json()  # fmt: skip
        lead = referred["lead_id"]
        assert lead.startswith(f"lead:{c}:")
        assert referred["stage"] == "sign"
        assert any("出口服装涉嫌假冒" in m for m in await wait_mail(cycle_stack, "scj@units.example"))

        wrong = await duban(cycle_stack, "lead", "ack", lead, "--unit", "hg", "--json")
        assert wrong.code == 2
        assert "正在等待：scj 签收" in wrong.err
        assert (await duban(cycle_stack, "lead", "ack", lead, "--unit", "scj", "--json")).json()["stage"] == "decide"
        early = await duban(cycle_stack, "lead", "close", lead, "--unit", "scj", "--result", "x")
        assert early.code == 2, "closing before deciding is the wrong stage"

        police = await duban(
            cycle_stack, "lead", "decide", lead, "--unit", "scj", "--decision", "police", "--to", "gaj", "--json"
        )
        assert police.json()["stage"] == "approve"
        approved = (await duban(cycle_stack, "lead", "approve", lead, "--unit", "scj", "--json")).json()
        accepted = datetime.fromisoformat(approved["accepted_at"])
        assert datetime.fromisoformat(approved["next_due"]) == accepted + timedelta(hours=24)
        assert (await duban(cycle_stack, "lead", "transfer", lead, "--unit", "scj", "--json")).json()["stage"] == "file"
        filed = await duban(cycle_stack, "lead", "decide", lead, "--unit", "gaj", "--decision", "open", "--json")
        assert filed.json()["stage"] == "handover"
        assert (await duban(cycle_stack, "lead", "handover", lead, "--unit", "scj", "--json")).json()[
            "stage"
        ] == "handed_over"

        show = (await duban(cycle_stack, "lead", "show", lead, "--json")).json()
        assert show["stage"] == "closed"
        assert show["escalation_level"] == 0
        assert [(s["name"], s["unit"], s["met"]) for s in show["stages"]] == [
            ("sign", "scj", True),
            ("decide", "scj", True),
            ("approve", "scj", True),
            ("transfer", "scj", True),
            ("file", "gaj", True),
            ("handover", "scj", True),
        ]
        assert all(s["due"] and s["done_at"] for s in show["stages"])
        assert show["content"]["name"] == "线索材料.txt"
        assert [e["what"] for e in show["timeline"]][:3] == ["referred", "signed_for", "decided:police"]
        human = await duban(cycle_stack, "lead", "show", lead)
        assert human.code == 0
        assert "材料移交" in human.out and "handover" not in human.out

    async def test_bad_input_starts_nothing(self, cycle_stack: CycleStack, lead_campaign: str) -> None:
        """Unknown campaign, unit or policy exit 2 before any workflow starts; so does a malformed lead id."""
        c = lead_campaign
        before = (await duban(cycle_stack, "lead", "list", "--campaign", c, "--json")).json()["leads"]
        base = ["lead", "refer", "--from", "hg", "--title", "t", "--json"]
        no_campaign = await duban(cycle_stack, *base, "--campaign", "nope", "--to", "scj", "--policy", "decree-310")
        no_unit = await duban(cycle_stack, *base, "--campaign", c, "--to", "scj,xxx", "--policy", "decree-310")
        no_policy = await duban(cycle_stack, *base, "--campaign", c, "--to", "scj", "--policy", "made-up")
        bad_id = await duban(cycle_stack, "lead", "show", "not-a-lead")
        missing = await duban(cycle_stack, "lead", "show", f"lead:{c}:00000000")
        for run, reason in [
            (no_campaign, "no started campaign"),
            (no_unit, "no unit 'xxx'"),
            (no_policy, "no referral policy"),
            (bad_id, "not a lead id"),
            (missing, "no such"),
        ]:
            assert run.code == 2, run.err
            assert reason in run.err
        await asyncio.sleep(0.5)  # visibility shows a start within ~50 ms
        after = (await duban(cycle_stack, "lead", "list", "--campaign", c, "--json")).json()["leads"]
        assert after == before
