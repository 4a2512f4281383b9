"""Who may read what units sent (issue 19): operators and leadership read every file, nobody else; a unit
reads back only its own through its portal link; files are served so that no browser runs or sniffs them;
every read is logged with who and what, never the file's name or content. Against the dev server, a worker
and the SMTP sink, through the console app in process."""

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog

from console import client_calls as calls
from console.auth import hash_password
from console.web.app import create_app
from schemas.blobs import BlobRef
from schemas.cycle import OfficeAction, SubmitReport
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.security.helpers import OPERATOR, PASSWORD, mailed_links, new_id, path_of, sign_in
from workers.objects import blob_store
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

LEADER, LEADER_PASSWORD = "wang", "leader password 1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n% report\n"


@pytest.fixture
def app_settings(cycle_stack: CycleStack) -> Settings:
    return cycle_stack.settings.model_copy(
        update={
            "operators": {OPERATOR: hash_password(PASSWORD, n=2**4)},
            "leaders": {LEADER: hash_password(LEADER_PASSWORD, n=2**4)},
        }
    )


@pytest.fixture
async def web(cycle_stack: CycleStack, app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def submit(stack: CycleStack, cycle_id: str, unit: str, files: list[tuple[str, bytes]], text: str) -> str:
    call = SubmitReport(unit_id=unit, title="工作总结", by=unit)
    receipt = await calls.submit_files(stack.client, stack.settings, cycle_id, call, text, files)
    return receipt.receipt_no


async def sign_in_as(web: httpx.AsyncClient, user: str, password: str) -> None:
    page = await web.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = await web.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert done.status_code == 303, done.text[:300]


async def test_who_reads_what(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Signed out: nothing. Operator and leader: every file, PDFs and pictures inline and sandboxed, the rest
    as attachments with the Chinese name. A unit's link: its own files only. Each read logged without names."""
    a, b = new_id("ua"), new_id("ub")
    cid = (await cycle_stack.open_cycle("reading-security", units={a: "甲单位", b: "乙单位"})).id
    ra = await submit(cycle_stack, cid, a, [("甲的总结.pdf", PDF), ("现场照片.png", PNG)], "甲单位正文")
    rb = await submit(cycle_stack, cid, b, [("乙的秘密.pdf", PDF)], "乙单位正文")
    file_a = f"/cycles/{cid}/units/{a}/submissions/{ra}/files/1"
    file_b = f"/cycles/{cid}/units/{b}/submissions/{rb}/files/1"

    # Signed out: pages send to sign-in, the API says 401, no byte of a file is served.
    for path in (file_a, f"/cycles/{cid}/units/{a}/submissions/{ra}", f"/cycles/{cid}/rollup/package"):
        refused = await web.get(path)
        assert refused.status_code == 303 and "/login" in refused.headers["location"]
        assert PDF not in refused.content
    assert (await web.get(f"/api/cycles/{cid}/submissions")).status_code == 401

    # A unit's portal link reaches its own files, and no other unit's — not even by naming the receipt.
    (portal_a, _), *_ = await mailed_links(cycle_stack, f"{a}@units.example", 1)
    own = await web.get(f"{path_of(portal_a)}/submissions/{ra}/files/1")
    assert own.status_code == 200 and own.content == PDF
    other = await web.get(f"{path_of(portal_a)}/submissions/{rb}/files/1")
    assert other.status_code == 404 and PDF not in other.content
    # The operator routes do not accept a portal token in place of a session.
    smuggled = await web.get(file_b, params={"token": portal_a.rsplit("/", 1)[1]})
    assert smuggled.status_code == 303

    # Leadership reads (read-only accounts look; that is their job).
    await sign_in_as(web, LEADER, LEADER_PASSWORD)
    with structlog.testing.capture_logs() as logs:
        pdf = await web.get(file_a)
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E7%94%B2%E7%9A%84%E6%80%BB%E7%BB%93.pdf" in pdf.headers["content-disposition"]
    assert pdf.headers["content-security-policy"] == "sandbox"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    downloads = [e for e in logs if e["event"] == "download"]
    assert len(downloads) == 1, logs
    line = downloads[0]
    assert (line["user"], line["role"], line["receipt"], line["unit"]) == (LEADER, "leader", ra, a)
    assert "甲的总结" not in str(line) and "甲单位正文" not in str(line)

    png = await web.get(f"/cycles/{cid}/units/{a}/submissions/{ra}/files/2")
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith("inline;")
    forced = await web.get(f"{file_a}?download=1")
    assert forced.headers["content-disposition"].startswith("attachment;")
    assert forced.headers["content-type"] == "application/octet-stream"
    body = await web.get(f"/cycles/{cid}/units/{a}/submissions/{ra}/files/0")
    assert body.headers["content-disposition"].startswith("attachment;"), "text never opens in the console's origin"
    page = await web.get(f"/cycles/{cid}/units/{a}/submissions/{ra}")
    assert page.status_code == 200 and "甲单位正文" in page.text

    # A receipt under the wrong unit, a file number out of range, a receipt that does not exist: 404.
    assert (await web.get(f"/cycles/{cid}/units/{a}/submissions/{rb}/files/1")).status_code == 404
    assert (await web.get(f"/cycles/{cid}/units/{a}/submissions/{ra}/files/9")).status_code == 404
    assert (await web.get(f"/cycles/{cid}/units/{a}/submissions/2026-Y-{a}-9999/files/1")).status_code == 404

    listed = await web.get(f"/api/cycles/{cid}/submissions", params={"unit": a})
    assert [i["receipt"] for i in listed.json()] == [ra]


async def test_missing_blob_is_a_server_fault_not_a_file(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """A file the store lost is answered as a fault (500), never with other bytes."""
    unit = new_id("um")
    cid = (await cycle_stack.open_cycle("reading-lost", units={unit: "丙单位"})).id
    receipt = await submit(cycle_stack, cid, unit, [("丢失.pdf", PDF + b"lost")], "")
    view = await calls.unit_view(cycle_stack.client, cid, unit)
    ref = view.state.submissions[0].attachments[0]
    await blob_store(cycle_stack.settings).discard(ref)
    await sign_in(web)
    lost = await web.get(f"/cycles/{cid}/units/{unit}/submissions/{receipt}/files/1")
    assert lost.status_code == 500 and PDF not in lost.content


async def test_office_gets_its_rollup_before_forwarding(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Before forwarding the package and 汇总报告 are compiled from what units sent; nothing is stored for it."""
    unit = new_id("ur")
    # Two units, one reports: the cycle is not complete, so it does not forward by itself.
    cid = (await cycle_stack.open_cycle("reading-rollup", units={unit: "丁单位", new_id("ux"): "戊单位"})).id
    await submit(cycle_stack, cid, unit, [("丁的总结.pdf", PDF + b"d")], "")
    await sign_in(web)
    summary = await web.get(f"/cycles/{cid}/rollup/summary")
    assert summary.status_code == 200 and summary.content.startswith(b"PK")
    assert "filename*=UTF-8''%E6%B1%87%E6%80%BB%E6%8A%A5%E5%91%8A" in summary.headers["content-disposition"]
    package = await web.get(f"/cycles/{cid}/rollup/package")
    assert package.status_code == 200 and package.content.startswith(b"PK")
    for served in (summary.content, package.content):
        digest = hashlib.sha256(served).hexdigest()
        stored = await blob_store(cycle_stack.settings).exists(BlobRef(sha256=digest, size=len(served), name="x"))
        assert not stored, "a download stored what it served"
    assert (await web.get(f"/cycles/{cid}/rollup/anything")).status_code == 404

    # Once forwarded, the office gets exactly what went upward (the stored package, byte for byte).
    await calls.update(cycle_stack.client, cid, ReportingCycle.forward_upward, OfficeAction(by=OPERATOR))
    handle = cycle_stack.client.get_workflow_handle(cid)
    for _ in range(200):
        state = await handle.query(ReportingCycle.get_state)
        if state.rollup is not None:
            break
        await asyncio.sleep(0.1)
    assert state.rollup is not None, "the cycle never compiled its roll-up"
    forwarded = await web.get(f"/cycles/{cid}/rollup/package")
    assert forwarded.status_code == 200
    assert hashlib.sha256(forwarded.content).hexdigest() == state.rollup.sha256
