"""`duban info` as a user runs it: the installed command in a subprocess, against a live dev server,
worker and SMTP sink. Bad input exits 2 with the reason on stderr and changes nothing."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import httpx
import pytest

from activities.portal_tokens import PortalTokens
from console.web.app import create_app
from schemas.info_plan import InfoPlan
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import Run, duban
from tests.info_support import end_started, info_plan, start_channel


@pytest.fixture(autouse=True)
async def _end_channels() -> AsyncIterator[None]:
    """Channels must not outlive this module's worker on the session's dev server (boards would wait on them)."""
    yield
    await end_started()


async def test_submit_list_review_and_score(cycle_stack: CycleStack, tmp_path: Path) -> None:
    """Submit with a file, list by unit and state, adopt / return / file, resubmit, stats with a .docx."""
    p = info_plan(n_units=3, rules=InfoPlan(forward_within=None))
    await start_channel(cycle_stack.client, cycle_stack.settings.temporal.task_queue, p, dt.datetime.now(dt.UTC))
    case = tmp_path / "案例.txt"
    case.write_text("查获假冒灯具 2000 件。", encoding="utf-8")
    common = ("--campaign", p.id)

    first = await duban(
        cycle_stack, "info", "submit", *common, "--unit", "u1", "--kind", "典型案例", "--title", "灯具案",
        "--file", str(case), "--json",
    )  # fmt: skip
    receipt = first.json()
    assert receipt["item_id"] == f"{p.id}:yaan:1" and receipt["unit_id"] == "u1"
    for unit, kind in (("u2", "工作动态"), ("u2", "practice")):
        await duban(
            cycle_stack, "info", "submit", *common, "--unit", unit, "--kind", kind, "--title", kind, "--text", "正文"
        )

    assert (await duban(cycle_stack, "info", "adopt", f"{p.id}:yaan:1", "--note", "采用", "--json")).json()[
        "state"
    ] == "adopted"
    returned = await duban(cycle_stack, "info", "return", f"{p.id}:yaan:2", "--note", "请补充数据", "--json")
    assert returned.json()["state"] == "returned"
    assert (await duban(cycle_stack, "info", "file", f"{p.id}:yaan:3", "--json")).json()["state"] == "filed"
    again = await duban(
        cycle_stack, "info", "submit", *common, "--unit", "u2", "--kind", "工作动态", "--title", "补充后",
        "--text", "补充了数据", "--resubmit", "2", "--json",
    )  # fmt: skip
    assert again.json()["version"] == 2

    everything, by_unit, by_state = await asyncio.gather(
        duban(cycle_stack, "info", "list", *common, "--json"),
        duban(cycle_stack, "info", "list", *common, "--unit", "u1", "--json"),
        duban(cycle_stack, "info", "list", *common, "--state", "pending", "--json"),
    )
    listed = everything.json()
    assert [r["no"] for r in listed] == [3, 2, 1]
    assert {r["no"]: r["state"] for r in listed} == {1: "adopted", 2: "pending", 3: "filed"}
    (mine,) = by_unit.json()
    assert mine["files"][0]["name"] == "案例.txt" and mine["decided_by"]
    assert [r["title"] for r in by_state.json()] == ["补充后"]

    quarter = f"{dt.date.today().year}-Q{(dt.date.today().month - 1) // 3 + 1}"
    out = tmp_path / "通报.docx"
    as_json, human = await asyncio.gather(
        duban(cycle_stack, "info", "stats", *common, "--period", quarter, "--docx", str(out), "--json"),
        duban(cycle_stack, "info", "stats", *common, "--period", quarter),
    )
    stats = as_json.json()
    rows = {r["unit_id"]: r for r in stats["rows"]}
    assert (rows["u1"]["sent"], rows["u1"]["adopted"], rows["u1"]["rate"]) == (1, 1, 1.0)
    assert (rows["u2"]["sent"], rows["u2"]["adopted"], rows["u2"]["filed"]) == (2, 0, 1)
    assert stats["total"]["sent"] == 3
    assert "信息报送采用情况的通报" in "\n".join(par.text for par in docx.Document(str(out)).paragraphs)
    assert human.code == 0 and "采用率" in human.out


async def test_bad_input_exits_2_and_changes_nothing(cycle_stack: CycleStack, tmp_path: Path) -> None:
    """Every refusal names its reason on stderr, exits 2, and the channel is as it was."""
    p = info_plan(n_units=2, rules=InfoPlan(forward_within=None, kinds=["typical_case"]))  # type: ignore[list-item]
    await start_channel(cycle_stack.client, cycle_stack.settings.temporal.task_queue, p, dt.datetime.now(dt.UTC))
    common = ("--campaign", p.id)
    ok = await duban(
        cycle_stack, "info", "submit", *common, "--unit", "u1", "--kind", "典型案例", "--title", "一", "--text", "x"
    )
    assert ok.code == 0, ok.err
    before = (await duban(cycle_stack, "info", "list", *common, "--json")).json()
    submit = ("info", "submit", *common)
    cases = [
        ((*submit, "--unit", "u1", "--kind", "工作总结", "--title", "x", "--text", "x"), "unknown kind"),
        ((*submit, "--unit", "u1", "--kind", "工作动态", "--title", "x", "--text", "x"), "not 工作动态"),
        ((*submit, "--unit", "nobody", "--kind", "典型案例", "--title", "x", "--text", "x"), "unknown unit"),
        ((*submit, "--unit", "u1", "--kind", "典型案例", "--title", "x"), "give a text"),
        ((*submit, "--unit", "u1", "--kind", "典型案例", "--title", " ", "--text", "x"), "--title"),
        (("info", "submit", "--campaign", "nosuch", "--unit", "u1", "--kind", "典型案例", "--title", "x"), "no info"),
        (("info", "return", f"{p.id}:yaan:1"), "needs a note"),
        (("info", "adopt", f"{p.id}:yaan:9"), "no item 9"),
        (("info", "adopt", "garbage"), "not an item id"),
        (("info", "forward", f"{p.id}:yaan:1"), "no upper office"),
        (("info", "stats", *common, "--period", "2026-Q5"), "expected 2026-M03"),
        (("info", "list", *common, "--unit", "nobody"), "unknown unit"),
        (("info", "list", *common, "--state", "lost"), "lost"),
    ]  # fmt: skip
    # Four at a time: each is a fresh `duban` process (most of its time is Python importing the CLI).
    gate = asyncio.Semaphore(4)

    async def refused(args: tuple[str, ...]) -> Run:
        async with gate:
            return await duban(cycle_stack, *args)

    runs = await asyncio.gather(*(refused(args) for args, _ in cases))
    for (args, reason), run in zip(cases, runs, strict=True):
        assert run.code == 2, (args, run.code, run.out, run.err)
        assert reason in run.err, (args, run.err)
    after = (await duban(cycle_stack, "info", "list", *common, "--json")).json()
    assert after == before


async def test_revoked_links_stop_opening_the_channel_portal(cycle_stack: CycleStack) -> None:
    """`duban link revoke` on a channel: the unit's old link is refused, the new one opens; other units unaffected."""
    p = info_plan(n_units=2, rules=InfoPlan(forward_within=None))
    handle = await start_channel(
        cycle_stack.client, cycle_stack.settings.temporal.task_queue, p, dt.datetime.now(dt.UTC)
    )
    s = cycle_stack.settings
    tokens = PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)
    old_u1, old_u2 = (tokens.portal_token(handle.id, u) for u in ("u1", "u2"))
    app = create_app(s, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        assert (await web.get(f"/portal/{old_u1}")).status_code == 200
        revoked = await duban(
            cycle_stack, "link", "revoke", "--cycle", handle.id, "--unit", "u1", "--reason", "泄露", "--json"
        )
        new_link = revoked.json()["portal_link"]
        refused = await web.get(f"/portal/{old_u1}")
        assert refused.status_code == 403 and "撤销" in refused.text
        fresh = await web.get("/portal/" + new_link.rsplit("/", 1)[1])
        assert fresh.status_code == 200 and "测试单位1" in fresh.text
        assert (await web.get(f"/portal/{old_u2}")).status_code == 200
        nobody = await duban(cycle_stack, "link", "revoke", "--cycle", handle.id, "--unit", "nobody")
        assert nobody.code == 2 and "unknown unit" in nobody.err
