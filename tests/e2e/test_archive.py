"""A closed cycle outlives Temporal: deleted with `temporal workflow delete`, it still shows in `duban status`,
`duban unit show`, the console's board, cycle and unit pages, the statistics page and the Excel ledger — read
from the archive the cycle wrote into the records database when it closed."""

import asyncio
import contextlib
import io
import re
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from temporalio.service import RPCError, RPCStatusCode

from console import client_calls as calls
from console.auth import hash_password
from console.web.app import create_app
from schemas.cycle import CycleStatus, OfficeAction, SubmitReport
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import duban
from workers.dev.binaries import bundled_binary
from workflows.reporting_cycle import ReportingCycle

PASSWORD = "archive password 1"


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(update={"operators": {"zhang": hash_password(PASSWORD)}})
    app = create_app(settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        login = await client.get("/login")
        token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = await client.post("/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": token})
        assert signed.status_code == 303, signed.text[:300]
        yield client


def ontime_table(page: str) -> str:
    """The statistics page's first table: one row per unit (on time, late, missed, open, rate, ...)."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


async def delete_from_temporal(stack: CycleStack, workflow_id: str) -> None:
    """`temporal workflow delete`, then wait until the server has really dropped it (deletion is asynchronous)."""
    proc = await asyncio.create_subprocess_exec(
        str(bundled_binary("temporal")),
        *("workflow", "delete", "--yes", "--workflow-id", workflow_id, "--address", stack.settings.temporal.address),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    # The dev server drops it some 40 s later.
    for _ in range(240):
        try:
            await stack.client.get_workflow_handle(workflow_id).describe()
        except RPCError as gone:
            if gone.status == RPCStatusCode.NOT_FOUND:
                return
            raise
        await asyncio.sleep(0.5)
    raise AssertionError(f"{workflow_id} still in Temporal after the delete")


async def test_a_deleted_cycle_still_shows_everywhere(
    cycle_stack: CycleStack, web: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Close a cycle (one unit reported), delete it from Temporal, and every reading surface still shows it."""
    stack = cycle_stack
    handle = await stack.open_cycle("archived")
    cid = handle.id
    await calls.update(stack.client, cid, ReportingCycle.submit_report, SubmitReport(unit_id="unit-a", title="总结"))
    await calls.update(stack.client, cid, ReportingCycle.close, OfficeAction(reason="年度结束", by="zhang"))
    final: CycleStatus = await asyncio.wait_for(handle.result(), timeout=60)  # completes once archived
    before = (await duban(stack, "status", stack.campaign, "--json")).json()["cycles"]
    stats_before = await web.get(f"/campaigns/{stack.campaign}/ontime")
    assert stats_before.status_code == 200

    await delete_from_temporal(stack, cid)
    assert cid not in {r.cycle_id for r in await calls.list_cycles(stack.client, stack.campaign)}

    # duban status and duban unit show
    after = (await duban(stack, "status", stack.campaign, "--json")).json()["cycles"]
    board = next(b for b in after if b["cycle_id"] == cid)
    as_closed = next(b for b in before if b["cycle_id"] == cid)
    # The same board, but for `now`: the archive's is the moment it was written, a query's that of the last task.
    assert {**board, "now": None} == {**as_closed, "now": None}
    assert board["stage"] == "closed"
    assert board["counts"] == final.counts and board["counts"]["submitted"] == 1
    shown = (await duban(stack, "unit", "show", "unit-a", "--cycle", cid, "--json")).json()["cycles"][0]
    assert shown["state"]["phase"] == "submitted"
    assert shown["state"]["submissions"][0]["title"] == "总结"
    found = (await duban(stack, "unit", "show", "unit-b", "--campaign", stack.campaign, "--json")).json()["cycles"]
    assert cid in {v["cycle_id"] for v in found}

    # The console: board, cycle page, unit page, statistics, JSON API.
    quoted = urllib.parse.quote(cid, safe="")
    page = await web.get("/", params={"campaign": stack.campaign})
    assert page.status_code == 200 and f"/cycles/{quoted}" in page.text
    page = await web.get(f"/cycles/{quoted}")
    assert page.status_code == 200 and "甲单位" in page.text and "乙单位" in page.text
    page = await web.get(f"/cycles/{quoted}/units/unit-a")
    assert page.status_code == 200 and "总结" in page.text
    # Statistics (the board's 按时报送率 page): the same units table from the archive as from Temporal.
    stats = await web.get(f"/campaigns/{stack.campaign}/ontime")
    assert stats.status_code == 200 and "甲单位" in stats.text
    assert ontime_table(stats.text) == ontime_table(stats_before.text)
    # Statistics count the archived cycle: unit-a reported on time, unit-b never (the cycle closed at once).
    counted = await web.get("/stats", params={"campaign": stack.campaign})
    assert "共 1 个报送周期" in counted.text
    assert re.search(r'<tr data-unit="unit-a".*?<td class="rate">100\.0%</td>', counted.text, re.S)
    api = await web.get(f"/api/cycles/{quoted}")
    assert api.status_code == 200 and api.json()["counts"] == final.counts

    # The Excel ledger.
    sheet_file = tmp_path / "台账.xlsx"
    made = (await duban(stack, "export", "xlsx", stack.campaign, "-o", str(sheet_file), "--json")).json()
    assert made["cycles"] == 1  # the deleted cycle is the campaign's only one: its rows come from the archive
    cells = {
        str(c.value)
        for ws in openpyxl.load_workbook(io.BytesIO(sheet_file.read_bytes())).worksheets
        for r in ws.iter_rows()
        for c in r
    }
    assert {"甲单位", "乙单位", "丙单位"} <= cells

    # What the archive holds is sealed: no unit name, contact address or report title in its rows, nor a
    # name or title anywhere in the records file (the sent-ledger keeps addresses, as it always has).
    with contextlib.closing(sqlite3.connect(stack.settings.data_dir / "records.db")) as db:
        rows = db.execute("SELECT * FROM archive WHERE id = ?", (cid,)).fetchall()
    assert len(rows) == 1
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in rows[0])
    raw = b"".join(p.read_bytes() for p in stack.settings.data_dir.glob("records.db*") if p.is_file())
    for clear in ("甲单位", "unit-a@units.example", "总结", "年度结束"):
        assert clear.encode() not in stored, f"{clear!r} in clear in the archive"
    for clear in ("甲单位", "总结", "年度结束"):
        assert clear.encode() not in raw, f"{clear!r} in clear in the records database"
