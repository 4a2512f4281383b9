"""Bad input catalogue: CLI arguments, portal uploads, Updates from the wrong unit or in the wrong stage.

Each case gets a clear answer — exit 2 with a one-line reason, HTTP 400 with the
reason on the page, a rejected Update naming the problem — and changes nothing:
the cycle's full state (every unit's view, timeline, fired steps and links, the
audit trail, the outbox) or the lead's status, and the workflow's history length,
are compared before and after every refusal (tests/snapshots.py).
The catalogue lives in the lists below; the number tried is printed.
"""

import asyncio
import datetime as dt
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from activities.portal_tokens import PortalTokens
from console import client_calls as calls
from console.web.app import create_app
from schemas.cycle import (
    CycleStatus,
    DecideExtension,
    OfficeAction,
    RequestExtension,
    ReturnForRevision,
    RevokeLinks,
    SubmitReport,
    Waive,
)
from schemas.lead import CloseLead, Decide, Decision, GiveFeedback, SignFor
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.lead_support import AGRICULTURE, CUSTOMS, MARKET, lead_input
from tests.snapshots import cycle_snapshot, lead_snapshot, quiet_cycle_snapshot, quiet_lead_snapshot
from workers.dev.binaries import bundled_binary
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

TRIED: dict[str, int] = {}


def _count(area: str, n: int) -> None:
    TRIED[area] = TRIED.get(area, 0) + n
    print(f"\nbad-input catalogue: {area}: {n} cases tried, each refused with a reason and nothing changed")


# ---- CLI arguments ------------------------------------------------------------------------------


def cli_cases(tmp: Path, cycle_id: str) -> list[tuple[list[str], str]]:
    """(argv, a fragment the one-line reason must contain, case-insensitive)."""
    missing = str(tmp / "no-such-file.yaml")
    not_yaml = tmp / "not-a-plan.yaml"
    not_yaml.write_text("{{{ this is not yaml", encoding="utf-8")
    empty = tmp / "empty.txt"
    empty.write_bytes(b"")
    evil = tmp / "report.exe"
    evil.write_bytes(b"MZ\x90\x00")
    return [
        (["calendar", "day", "2026-02-30"], "not a date"),
        (["calendar", "day", "yesterday"], "not a date"),
        (["calendar", "due", "2026-13-01", "--days", "3"], "2026-13-01"),
        (["calendar", "due", "2026-12-01", "--days", "-3"], "-3"),
        (["calendar", "due", "2026-12-01", "--days", "3", "--roll", "sideways"], "sideways"),
        (["calendar", "due", "2026-12-01", "--days", "3", "--close", "25:99"], "25:99"),
        (["plan", "check", missing], "no-such-file"),
        (["plan", "check", str(not_yaml)], "yaml"),
        (["campaign", "start", missing], "no-such-file"),
        (["submit", "--cycle", cycle_id, "--unit", "nobody", "--text", "x"], "nobody"),
        (["submit", "--cycle", "cycle:none:x:y:z", "--unit", "unit-a", "--text", "x"], "cycle:none"),
        (["submit", "--cycle", cycle_id, "--unit", "unit-a", "--file", missing], "no-such-file"),
        (["submit", "--cycle", cycle_id, "--unit", "unit-a", "--file", str(empty)], "empty"),
        (["submit", "--cycle", cycle_id, "--unit", "unit-a", "--file", str(evil)], "not accepted"),
        (["extend", "--cycle", cycle_id, "--unit", "unit-a", "--to", "2020-01-01", "--by", "op"], "2020-01-01"),
        (["waive", "--cycle", cycle_id, "--unit", "nobody", "--reason", "r", "--by", "op"], "nobody"),
        (["link", "revoke", "--cycle", cycle_id, "--unit", "nobody", "--by", "op"], "nobody"),
        (["link", "revoke", "--cycle", "cycle:none:x:y:z", "--unit", "unit-a", "--by", "op"], "cycle:none"),
        (["link", "new", "--cycle", cycle_id, "--unit", "nobody"], "nobody"),
        (["link", "new", "--cycle", "cycle:none:x:y:z", "--unit", "unit-a"], "cycle:none"),
        (["lead", "show", "lead:none:0"], "lead:none:0"),
        (["stats", "--year", "20x6"], "20x6"),
        (["stats", "--xlsx", str(not_yaml)], ".xlsx"),
        (["lead", "ack", "lead:none:0", "--unit", "u1"], "lead:none:0"),
    ]


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bundled_binary("duban")), *argv], capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.mark.timeout(600)  # ~30 `duban` processes, each importing the whole package: minutes on a loaded machine
async def test_cli_arguments(cycle_stack: CycleStack, tmp_path: Path) -> None:
    """Bad dates, unknown units and cycles, missing or unacceptable files: exit 2, one line on stderr."""
    handle = await cycle_stack.open_cycle("cli-bad")
    before = await quiet_cycle_snapshot(cycle_stack.client, handle.id)
    cases = cli_cases(tmp_path, handle.id)
    env = cycle_stack.env()
    with ThreadPoolExecutor(4) as pool:
        results = await asyncio.gather(
            *(asyncio.get_running_loop().run_in_executor(pool, _run, argv, env) for argv, _ in cases)
        )
    problems = []
    for (argv, fragment), done in zip(cases, results, strict=True):
        reason = done.stderr.strip()
        if done.returncode != 2 or "Traceback" in done.stderr or fragment.lower() not in reason.lower():
            problems.append(f"duban {' '.join(argv)} → {done.returncode}: {reason[-300:]!r}")
    assert not problems, "\n".join(problems)
    assert await cycle_snapshot(cycle_stack.client, handle.id) == before
    _count("CLI arguments", len(cases))


# ---- portal uploads -----------------------------------------------------------------------------

UPLOADS: list[tuple[str, bytes, str]] = [
    ("empty.pdf", b"", "empty"),
    ("huge.pdf", b"%PDF-1.4 " + b"x" * (64 * 1024 + 1), "over the limit"),
    ("report.exe", b"MZ\x90\x00", "not accepted"),
    ("report.pdf", b"MZ\x90\x00 not a pdf", "not a .pdf"),
    ("photo.png", b"%PDF-1.4 disguised", "not a .png"),
    ("../../etc/passwd", b"root:x:0:0", "not accepted"),
    ("..\\..\\windows\\system32\\evil.dll", b"MZ", "not accepted"),
    ("nul\x00.pdf.exe", b"MZ", "not accepted"),
    ("a" * 300 + ".exe", b"MZ", "not accepted"),
    ("a" * 300, b"plain", "not accepted"),
    (".", b"x", "not accepted"),
    ("report.txt", b"\xff\xfe\x00\xd8 not text \x80\x81", "not a text file"),
]


@pytest.fixture
async def portal(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(update={"max_upload_bytes": 64 * 1024})
    app = create_app(settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        yield web


async def test_portal_uploads(cycle_stack: CycleStack, portal: httpx.AsyncClient) -> None:
    """Empty, huge, wrong type, disguised, hostile names: 400 with the reason, no submission, no file stored."""
    handle = await cycle_stack.open_cycle("upload-bad")
    s = cycle_stack.settings
    token = PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days).portal_token(
        handle.id, "unit-a"
    )
    before = await quiet_cycle_snapshot(cycle_stack.client, handle.id)
    blobs_before = sorted(p.name for p in s.blob_dir.rglob("*")) if s.blob_dir.exists() else []
    page = await portal.get(f"/portal/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    for name, data, reason in UPLOADS:
        # Every bad file rides with a good one: one bad file must store nothing at all.
        files = [("files", ("好文件.pdf", b"%PDF-1.4 fine", "application/pdf")), ("files", (name, data, "x/y"))]
        response = await portal.post(f"/portal/{token}", data={"csrf_token": csrf[1], "title": "总结"}, files=files)
        assert response.status_code == 400, (name[:40], response.status_code)
        assert reason in response.text, (name[:40], reason)
        assert "Traceback" not in response.text
    assert await cycle_snapshot(cycle_stack.client, handle.id) == before
    blobs_after = sorted(p.name for p in s.blob_dir.rglob("*")) if s.blob_dir.exists() else []
    assert blobs_after == blobs_before, "a refused upload left a file in the blob store"
    _count("portal uploads", len(UPLOADS))


# ---- Updates from the wrong unit or in the wrong stage ---------------------------------------------


async def _refused(
    client: Client,
    wid: str,
    workflow: type,
    name: str,
    call: Any,
    fragment: str,
    quiet: Callable[[], Awaitable[Any]],
    snapshot: Callable[[], Awaitable[Any]],
) -> None:
    before = await quiet()
    with pytest.raises(calls.Rejected) as err:
        await calls.update(client, wid, getattr(workflow, name), call)
    assert fragment.lower() in str(err.value).lower(), f"{name}: {err.value}"
    after = await snapshot()
    assert after == before, f"{name} was refused but changed the workflow: {_difference(before, after)}"


def _difference(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in before if before[k] != after.get(k)]


async def test_cycle_updates_from_the_wrong_unit_or_stage(cycle_stack: CycleStack) -> None:
    """Unknown units, actions that do not fit the unit's phase, calls into a closed cycle."""
    client = cycle_stack.client
    handle = await cycle_stack.open_cycle("calls-bad")
    wid = handle.id
    await calls.update(client, wid, ReportingCycle.submit_report, SubmitReport(unit_id="unit-b", title="总结"))
    await calls.update(client, wid, ReportingCycle.waive, Waive(unit_id="unit-c", reason="免报", by="op"))
    status = await handle.query("get_status", result_type=CycleStatus)
    due_day = status.unit_due.at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()

    def quiet() -> Awaitable[dict[str, Any]]:
        return quiet_cycle_snapshot(client, wid)

    def snapshot() -> Awaitable[dict[str, Any]]:
        return cycle_snapshot(client, wid)

    cases: list[tuple[str, Any, str]] = [
        ("submit_report", SubmitReport(unit_id="nobody", title="x"), "unknown unit"),
        ("submit_report", SubmitReport(unit_id="unit-c", title="x"), "exempted"),
        ("request_extension", RequestExtension(unit_id="nobody", reason="r", wanted=due_day), "unknown unit"),
        ("request_extension", RequestExtension(unit_id="unit-a", reason="r", wanted=due_day), "must be after"),
        ("request_extension", RequestExtension(unit_id="unit-b", reason="r", wanted=due_day), "nothing outstanding"),
        ("decide_extension", DecideExtension(unit_id="unit-a", approve=False, by="op"), "no extension request"),
        ("decide_extension", DecideExtension(unit_id="unit-a", approve=True, by="op"), "needs the new due date"),
        ("decide_extension", DecideExtension(unit_id="unit-c", approve=True, by="op"), "nothing outstanding"),
        (
            "return_for_revision",
            ReturnForRevision(unit_id="unit-a", reason="r", new_due=due_day, by="op"),
            "no accepted report",
        ),
        (
            "return_for_revision",
            ReturnForRevision(unit_id="unit-b", reason="r", new_due=dt.date(2020, 1, 1), by="op"),
            "in the past",
        ),
        ("waive", Waive(unit_id="unit-b", reason="r", by="op"), "already submitted"),
        ("waive", Waive(unit_id="unit-c", reason="r", by="op"), "already waived"),
        ("revoke_links", RevokeLinks(unit_id="nobody", by="op"), "unknown unit"),
    ]
    for name, call, fragment in cases:
        await _refused(client, wid, ReportingCycle, name, call, fragment, quiet, snapshot)
    await calls.update(client, wid, ReportingCycle.close, OfficeAction(reason="测试结束", by="op"))
    await handle.result()
    # A closed cycle has completed: every further call is refused, none is queued.
    closed = [
        ("submit_report", SubmitReport(unit_id="unit-a", title="x"), "no running workflow"),
        ("close", OfficeAction(reason="again", by="op"), "no running workflow"),
        ("revoke_links", RevokeLinks(unit_id="unit-a", by="op"), "no running workflow"),
    ]
    for name, call, fragment in closed:
        await _refused(client, wid, ReportingCycle, name, call, fragment, quiet, snapshot)
    _count("cycle Updates", len(cases) + len(closed))


async def test_lead_updates_from_the_wrong_unit_or_stage(cycle_stack: CycleStack) -> None:
    """A lead refuses the referrer acting as receiver, bystanders, and every step out of order."""
    client = cycle_stack.client
    lead = lead_input(dt.datetime.now(dt.UTC), receivers=[MARKET], lead_id=f"lead:{cycle_stack.campaign}:bad")
    handle = await client.start_workflow(
        "LeadReferral", lead, id=lead.lead_id, task_queue=cycle_stack.settings.temporal.task_queue
    )

    def quiet() -> Awaitable[dict[str, Any]]:
        return quiet_lead_snapshot(client, lead.lead_id)

    def snapshot() -> Awaitable[dict[str, Any]]:
        return lead_snapshot(client, lead.lead_id)

    cases: list[tuple[str, Any, str]] = [
        ("sign_for", SignFor(unit_id=CUSTOMS.id), CUSTOMS.id),
        ("sign_for", SignFor(unit_id=AGRICULTURE.id), AGRICULTURE.id),
        ("decide", Decide(unit_id=MARKET.id, decision=Decision.OPEN), "签收"),
        ("give_feedback", GiveFeedback(unit_id=MARKET.id, text="进展"), "签收"),
        ("close", CloseLead(unit_id=MARKET.id, result="办结"), "签收"),
    ]
    for name, call, fragment in cases:
        await _refused(client, lead.lead_id, LeadReferral, name, call, fragment, quiet, snapshot)
    await calls.update(client, lead.lead_id, LeadReferral.sign_for, SignFor(unit_id=MARKET.id))
    again = ("sign_for", SignFor(unit_id=MARKET.id), "签收")
    await _refused(client, lead.lead_id, LeadReferral, *again, quiet, snapshot)
    await handle.terminate("test over")
    _count("lead Updates", len(cases) + 1)
