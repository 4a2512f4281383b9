"""Statistics across years (the page with charts, its Excel export, `duban stats`) and extension requests from the
portal to the office and back — against the live dev server, worker and SMTP sink, through the console's ASGI app.

One stack for the module; the statistics' cycles are the campaign's own (a fresh campaign id per module).
"""

import asyncio
import datetime as dt
import io
import re
from collections.abc import AsyncIterator

import httpx
import openpyxl
import pytest

from activities.portal_tokens import PortalTokens
from console import client_calls as calls
from console.auth import hash_password
from console.web.app import create_app
from schemas.cycle import ReturnForRevision, SubmitReport, Waive
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import duban
from workflows.reporting_cycle import ReportingCycle

PASSWORD = "stats password 1"
LEADER_PASSWORD = "leader password 1"
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def hashes() -> tuple[str, str]:
    return hash_password(PASSWORD), hash_password(LEADER_PASSWORD)


@pytest.fixture
async def web(cycle_stack: CycleStack, hashes: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(update={"operators": {"zhang": hashes[0]}, "leaders": {"li": hashes[1]}})
    app = create_app(settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found[1]


async def sign_in(client: httpx.AsyncClient, user: str, password: str) -> None:
    token = csrf_of(await client.get("/login"))
    signed = await client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert signed.status_code == 303, signed.text[:300]


def unit_row(html: str, unit_id: str) -> str:
    found = re.search(rf'<tr data-unit="{unit_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row for {unit_id}"
    return found[1]


async def mail_to(stack: CycleStack, address: str, template: str, cycle_id: str) -> str:
    """The plain text of the first caught `template` message of the cycle to `address` (sent within seconds)."""
    for _ in range(150):
        for m in stack.sink.messages():
            if (
                address in (m.get("X-Duban-Envelope-To") or "")
                and m["X-Duban-Template"] == template
                and m["X-Duban-Scope"] == cycle_id
            ):
                body = m.get_body(preferencelist=("plain",))
                assert body is not None
                return f"{m['Subject']}\n{body.get_content()}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {template} mail to {address}")


async def test_extension_request_reaches_the_office_and_the_decision_the_unit(
    web: httpx.AsyncClient, cycle_stack: CycleStack
) -> None:
    """A unit asks on its portal page: the office is mailed at once and the board badges that unit; the
    office refuses with a reason: the unit's page and its mail say so, and the badge is gone."""
    stack = cycle_stack
    handle = await stack.open_cycle("ext", units={"unit-a": "甲单位", "unit-b": "乙单位"})
    token = PortalTokens(
        stack.settings.secret_key.get_secret_value(), stack.settings.public_url, stack.settings.portal_token_days
    ).portal_token(handle.id, "unit-a")
    status = await calls.cycle_status(stack.client, handle.id)
    wanted = status.unit_due.at.astimezone(CST).date() + dt.timedelta(days=5)

    page = await web.get(f"/portal/{token}")
    asked = await web.post(
        f"/portal/{token}/extension",
        data={"csrf_token": csrf_of(page), "wanted": wanted.isoformat(), "reason": "数据尚未汇齐"},
    )
    assert asked.status_code == 200 and "等待办公室审批" in asked.text
    office_mail = await mail_to(stack, "office@duban.example", "extension_requested", handle.id)
    assert "甲单位" in office_mail and "数据尚未汇齐" in office_mail
    assert f"{wanted.year}年{wanted.month}月{wanted.day}日" in office_mail

    await sign_in(web, "zhang", PASSWORD)
    board = await web.get("/", params={"campaign": stack.campaign})
    section = board.text.split(f'data-cycle="{handle.id}"', 1)[1].split("</section>", 1)[0]
    a_item = section.split('data-unit="unit-a"', 1)[1].split("</li>", 1)[0]
    b_item = section.split('data-unit="unit-b"', 1)[1].split("</li>", 1)[0]
    assert 'data-badge="extension"' in a_item and "延期待批" in a_item
    assert 'data-badge="extension"' not in b_item
    assert "延期申请待审批 1" in section

    unit_page = await web.get(f"/cycles/{handle.id}/units/unit-a")
    base = f"/cycles/{handle.id}/units/unit-a/actions"
    without = await web.post(f"{base}/refuse", data={"csrf_token": csrf_of(unit_page), "reason": " "})
    assert without.status_code in (303, 400)
    assert (await calls.unit_view(stack.client, handle.id, "unit-a")).state.extension  # still waiting
    refused = await web.post(f"{base}/refuse", data={"csrf_token": csrf_of(unit_page), "reason": "上级时限不可延后"})
    assert refused.status_code == 303, refused.text[:300]

    decision = await mail_to(stack, "unit-a@units.example", "extension_decided", handle.id)
    assert "未同意延期" in decision and "上级时限不可延后" in decision
    portal = await web.get(f"/portal/{token}")
    assert 'data-extension="refused"' in portal.text and "上级时限不可延后" in portal.text
    board = await web.get("/", params={"campaign": stack.campaign})
    section = board.text.split(f'data-cycle="{handle.id}"', 1)[1].split("</section>", 1)[0]
    assert 'data-badge="extension"' not in section and "延期申请待审批" not in section


async def test_statistics_across_years_page_export_and_cli(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Two years of one office: the page, the workbook and `duban stats` agree on each unit's year-by-year
    rate, days late and returns; leadership reads them too; nobody signed out does; a bad year is refused."""
    stack = cycle_stack
    # 2025: opened 20 days ago, due 10 days later — unit-a reports now (late), unit-b never, unit-c waived.
    office = "stats-office"  # its own office: the other test's cycle is the campaign's too
    old = await stack.open_cycle("s2025", opened_days_ago=20, period="2025-Y", office_id=office)
    await calls.update(stack.client, old.id, ReportingCycle.submit_report, SubmitReport(unit_id="unit-a", title="总结"))
    await calls.update(stack.client, old.id, ReportingCycle.waive, Waive(unit_id="unit-c", reason="本期无", by="zhang"))
    # 2026: due in 10 days — unit-a on time; unit-b reports and is returned for revision; unit-c not yet due.
    new = await stack.open_cycle("s2026", period="2026-Y", office_id=office)
    await calls.update(stack.client, new.id, ReportingCycle.submit_report, SubmitReport(unit_id="unit-a", title="总结"))
    await calls.update(stack.client, new.id, ReportingCycle.submit_report, SubmitReport(unit_id="unit-b", title="总结"))
    due = (await calls.cycle_status(stack.client, new.id)).unit_due.at.astimezone(CST).date()
    back = ReturnForRevision(unit_id="unit-b", reason="缺数据", new_due=due, by="zhang")
    await calls.update(stack.client, new.id, ReportingCycle.return_for_revision, back)

    assert (await web.get("/stats")).status_code == 303  # signed out (a unit has no console account)
    await sign_in(web, "li", LEADER_PASSWORD)  # leadership only reads, and may read this
    wanted = {"campaign": stack.campaign, "office": office}
    page = await web.get("/stats", params=wanted)
    assert page.status_code == 200, page.text[:500]
    a = unit_row(page.text, "unit-a")
    assert re.search(r'data-year="2025">0\.0%<', a) and re.search(r'data-year="2026">100\.0%<', a)
    assert '<td class="rate">50.0%</td>' in a
    b = unit_row(page.text, "unit-b")
    assert re.search(r'data-year="2025">0\.0%<', b) and '<td class="returns">1</td>' in b
    assert '<td class="rate">—</td>' in unit_row(page.text, "unit-c")  # waived, then not yet due
    assert page.text.count('<svg class="chart') >= 3  # units, year over year, offices
    assert (await web.get("/stats", params={"year": "twenty"})).status_code == 400
    only_2026 = await web.get("/stats", params=wanted | {"year": "2026"})
    assert 'data-year="2025"' not in only_2026.text and 'data-year="2026"' in only_2026.text

    xlsx = await web.get("/stats.xlsx", params=wanted)
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["各办公室", "各单位按年度", "各单位按专项行动", "明细"]
    by_year = [[c.value for c in r] for r in wb["各单位按年度"].iter_rows(min_row=3)]
    assert ["甲单位", "unit-a", office, "2025", 1, 0, 1, 0, 0, 0, "0.0%"] == by_year[0][:11]
    assert ["甲单位", "unit-a", office, "合计", 2, 1, 1, 0, 0, 0, "50.0%"] == by_year[2][:11]
    detail = {(r[2], r[5]): r[6] for r in ([c.value for c in row] for row in wb["明细"].iter_rows(min_row=3))}
    assert detail[("2025年度", "unit-b")] == "未报" and detail[("2026年度", "unit-b")] == "未到期"

    run = await duban(stack, "stats", "--campaign", stack.campaign, "--office", office, "--json")
    assert run.code == 0, run.err
    report = run.json()
    cli_a = next(u for u in report["units"] if u["id"] == "unit-a")
    assert cli_a["by_year"]["2025"]["late"] == 1 and cli_a["total"]["rate"] == 0.5
    assert cli_a["total"]["days_late"] >= 9  # 20 days ago + 10 days: about ten calendar days after the due day
    assert report["years"] == [2025, 2026] and report["cycles"] == 2
    assert (await duban(stack, "stats", "--year", "1800")).code == 2
