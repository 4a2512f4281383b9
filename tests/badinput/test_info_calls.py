"""Bad input to an information channel (及时报送, issue 22): refused Updates and portal uploads.

Every refused call comes back with its reason and leaves the channel as it was: every item it
holds (with its events), its board and its history length (tests/snapshots.py). A refused portal
upload leaves no file in the blob store, also when the channel refuses the item after its files
were stored (they are swept again). The CLI's exit 2 is in tests/e2e/test_info_cli.py.
"""

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from activities.portal_tokens import PortalTokens
from console import client_calls as calls
from console.web.app import create_app
from schemas.blobs import BlobRef
from schemas.cycle import MAX_ATTACHMENTS, RevokeLinks
from schemas.info import MAX_ITEM_BYTES, CloseChannel, DecideItem, Decision, ForwardItem, SubmitItem
from schemas.info_plan import InfoKind, InfoPlan
from schemas.plan import UpperOffice
from tests.badinput.test_calls_and_uploads import UPLOADS, _count
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.info_support import end_started, info_plan, start_channel
from tests.snapshots import info_snapshot, quiet_info_snapshot
from workflows.info_channel import InfoChannel

UPPER = UpperOffice(id="sc", name="四川省打假办", email="office@sc.example")
KINDS = InfoPlan(kinds=[InfoKind.TYPICAL_CASE, InfoKind.PRACTICE])


@pytest.fixture(autouse=True)
async def _end_channels() -> AsyncIterator[None]:
    """Channels must not outlive this module's worker on the session's dev server."""
    yield
    await end_started()


def _blob(size: int = 10, n: int = 0) -> BlobRef:
    return BlobRef(sha256=f"{n:064x}", size=size, name=f"f{n}.pdf")


def _item(unit: str = "u1", **kw: Any) -> SubmitItem:
    return SubmitItem(**{"unit_id": unit, "kind": InfoKind.TYPICAL_CASE, "title": "案例", "body": _blob(), **kw})


def _blobs(stack: CycleStack) -> list[str]:
    blob_dir = stack.settings.blob_dir
    # Files only: an emptied fan-out folder may stay behind a swept blob.
    return sorted(p.name for p in blob_dir.rglob("*") if p.is_file()) if blob_dir.exists() else []


async def test_refused_updates_say_why_and_change_nothing(cycle_stack: CycleStack) -> None:
    """Every Update of the channel, refused for each reason its validator knows, open and then closed."""
    client = cycle_stack.client
    p = info_plan(n_units=2, upper=UPPER, rules=KINDS)
    handle = await start_channel(client, cycle_stack.settings.temporal.task_queue, p, dt.datetime.now(dt.UTC))
    cid = handle.id
    for _ in range(3):
        await calls.update(client, cid, InfoChannel.submit_item, _item())
    note = DecideItem(no=2, decision=Decision.RETURN, note="请补充", by="op")
    await calls.update(client, cid, InfoChannel.decide_item, note)
    await calls.update(client, cid, InfoChannel.decide_item, DecideItem(no=3, decision=Decision.FILE, by="op"))

    open_cases: list[tuple[str, Any, str]] = [
        ("submit_item", _item("nobody"), "unknown unit"),
        ("submit_item", _item(kind=InfoKind.WORK_UPDATE), "not 工作动态"),
        ("submit_item", _item(work_area="(九) 无此项"), "unknown work area"),
        ("submit_item", _item(body=None), "a text or at least one file"),
        ("submit_item", _item(attachments=[_blob(1, i) for i in range(MAX_ATTACHMENTS + 1)]), "too many attachments"),
        ("submit_item", _item(attachments=[_blob(MAX_ITEM_BYTES)]), "item too large"),
        ("submit_item", _item("u2", resubmit_of=2), "has no item 2"),
        ("submit_item", _item(resubmit_of=1), "cannot be resubmitted"),
        ("submit_item", _item(resubmit_of=3), "cannot be resubmitted"),
        ("submit_item", _item(resubmit_of=99), "has no item 99"),
        ("decide_item", DecideItem(no=99, decision=Decision.ADOPT, by="op"), "no item 99"),
        ("decide_item", DecideItem(no=1, decision=Decision.RETURN, note="  ", by="op"), "needs a note"),
        ("decide_item", DecideItem(no=3, decision=Decision.ADOPT, by="op"), "already 已存档"),
        ("decide_item", DecideItem(no=2, decision=Decision.FILE, by="op"), "already 已退回"),
        ("forward_item", ForwardItem(no=1, by="op"), "not waiting to go up"),
        ("forward_item", ForwardItem(no=99, by="op"), "no item 99"),
        ("revoke_links", RevokeLinks(unit_id="nobody", by="op"), "unknown unit"),
    ]
    # A closed channel's run has ended (what waited went up first): calls find nothing running.
    closed_cases: list[tuple[str, Any, str]] = [
        ("submit_item", _item(), "no running workflow"),
        ("submit_item", _item(resubmit_of=2), "no running workflow"),
        ("decide_item", DecideItem(no=1, decision=Decision.ADOPT, by="op"), "no running workflow"),
        ("forward_item", ForwardItem(no=1, by="op"), "no running workflow"),
        ("close_channel", CloseChannel(by="op"), "no running workflow"),
    ]

    async def refuse_all(cases: list[tuple[str, Any, str]]) -> None:
        before = await quiet_info_snapshot(client, cid)
        for name, call, fragment in cases:
            with pytest.raises(calls.Rejected) as err:
                await calls.update(client, cid, getattr(InfoChannel, name), call)
            assert fragment in str(err.value), f"{name}: {err.value}"
            assert await info_snapshot(client, cid) == before, f"{name} was refused but changed the channel"

    await refuse_all(open_cases)
    await calls.update(client, cid, InfoChannel.close_channel, CloseChannel(by="op"))
    await refuse_all(closed_cases)
    _count("information channel Updates", len(open_cases) + len(closed_cases))


@pytest.fixture
async def portal(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    settings = cycle_stack.settings.model_copy(update={"max_upload_bytes": 64 * 1024})
    app = create_app(settings, client=cycle_stack.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        yield web


async def test_portal_uploads_and_items_the_channel_refuses(cycle_stack: CycleStack, portal: httpx.AsyncClient) -> None:
    """Bad files (the cycles' catalogue), a text over the limit, and items the channel itself refuses after
    their files were stored: 400 with the reason, the channel unchanged, no file left in the blob store."""
    client, s = cycle_stack.client, cycle_stack.settings
    p = info_plan(n_units=2, rules=KINDS)
    handle = await start_channel(client, s.temporal.task_queue, p, dt.datetime.now(dt.UTC))
    await calls.update(client, handle.id, InfoChannel.submit_item, _item("u2"))  # item 1, another unit's
    tokens = PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)
    token = tokens.portal_token(handle.id, "u1")
    page = await portal.get(f"/portal/{token}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    good = ("files", ("好文件.pdf", b"%PDF-1.4 a typical case", "application/pdf"))
    form = {"csrf_token": csrf[1], "kind": "typical_case", "title": "案例"}
    # (form fields over the defaults, files, a fragment of the reason on the page)
    cases: list[tuple[dict[str, str], list[Any], str]] = [
        ({}, [good, ("files", (name, data, "x/y"))], reason) for name, data, reason in UPLOADS
    ]
    cases += [
        ({"text": "字" * (64 * 1024)}, [good], "over the limit"),
        ({"kind": "work_update"}, [good], "not 工作动态"),  # the files are stored, then the channel refuses
        ({"kind": "工作总结"}, [good], "unknown kind"),
        ({"resubmit": "1"}, [good], "has no item 1"),  # another unit's item
        ({"resubmit": "x"}, [good], "无效的信息编号"),
        ({"work_area": "(九) 无此项"}, [good], "unknown work area"),
        ({"title": ""}, [], "needs a title"),
    ]
    before = await quiet_info_snapshot(client, handle.id)
    blobs_before = _blobs(cycle_stack)
    for fields, files, reason in cases:
        response = await portal.post(f"/portal/{token}/info", data={**form, **fields}, files=files)
        assert response.status_code == 400, (fields, response.status_code)
        assert reason in response.text, (fields, reason)
        assert "Traceback" not in response.text
    assert await info_snapshot(client, handle.id) == before
    assert _blobs(cycle_stack) == blobs_before, "a refused item left a file in the blob store"
    # The same form with a good file goes through: the refusals above were about what they changed.
    ok = await portal.post(f"/portal/{token}/info", data=form, files=[good])
    assert ok.status_code == 200 and f"{p.id}:yaan:2" in ok.text
    _count("information portal uploads", len(cases))
