"""Information channels (及时报送, issue 22): a unit sees only its own items, and an item's title and
text — personal data — never reach a search attribute, a log line or a history in clear text.

One channel on the session's dev server with the real worker, encryption codec and console app;
settled items are paged out after every decision (archive_batch=1), so the unit's view of the
blob store's pages is checked too, not only of the items the workflow still holds.
"""

import asyncio
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from activities.portal_tokens import PortalTokens
from console import client_calls as calls
from console import info_calls
from console.web.app import create_app
from schemas.info import DecideItem, Decision, InfoInput
from schemas.info_plan import InfoKind, InfoPlan
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.info_support import STARTED, channel_input, end_started, info_plan
from workflows.info_channel import InfoChannel

# What units write: a case with a person's name in it. Neither may leave the encrypted payloads.
MINE = "张三涉嫌销售假冒灯具案"
THEIRS = "李四举报线索核查情况"
SECRET_TEXT = "当事人身份证号510100199001011234"


@pytest.fixture(autouse=True)
async def _end_channels() -> AsyncIterator[None]:
    yield
    await end_started()


async def _start(stack: CycleStack) -> str:
    p = info_plan(n_units=2, rules=InfoPlan(forward_within=None, kinds=[InfoKind.TYPICAL_CASE]))
    inp = channel_input(p, dt.datetime.now(dt.UTC))
    inp = InfoInput(spec=inp.spec.model_copy(update={"archive_batch": 1}))
    handle = await stack.client.start_workflow(
        InfoChannel.run, inp, id=inp.spec.channel_id, task_queue=stack.settings.temporal.task_queue
    )
    STARTED.append(handle)
    return handle.id


async def test_a_unit_sees_only_its_own_items_and_titles_stay_encrypted(
    cycle_stack: CycleStack, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Portal page and file downloads by another unit's item number; search attributes, logs, history bytes."""
    caplog.set_level(logging.DEBUG)
    client, s = cycle_stack.client, cycle_stack.settings
    channel = await _start(cycle_stack)
    submit = info_calls.submit
    mine = await submit(
        client, s, channel, unit_id="u1", kind=InfoKind.TYPICAL_CASE, title=MINE, text="本单位正文", files=[], by="u1"
    )
    theirs = await submit(
        client, s, channel, unit_id="u2", kind=InfoKind.TYPICAL_CASE, title=THEIRS, text=SECRET_TEXT, files=[], by="u2"
    )
    filed = await submit(
        client, s, channel, unit_id="u2", kind=InfoKind.TYPICAL_CASE, title=THEIRS + "（二）", text=SECRET_TEXT,
        files=[("线索.txt", SECRET_TEXT.encode())], by="u2",
    )  # fmt: skip
    # Filing settles it: with archive_batch=1 it leaves the workflow for a page in the blob store.
    await calls.update(
        client, channel, InfoChannel.decide_item, DecideItem(no=filed.no, decision=Decision.FILE, by="op")
    )
    for _ in range(100):
        view = await info_calls.view(client, channel)
        if view.archive:
            break
        await asyncio.sleep(0.1)
    assert view.archive, "the filed item was not paged out"

    tokens = PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)
    token = tokens.portal_token(channel, "u1")
    app = create_app(s, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        page = await web.get(f"/portal/{token}")
        assert page.status_code == 200 and MINE in page.text
        assert THEIRS not in page.text and SECRET_TEXT not in page.text
        assert len(re.findall(r'<tr data-item="', page.text)) == 1
        # Its own file opens; the other unit's items (held and paged out) do not, by any number.
        assert (await web.get(f"/portal/{token}/info/items/{mine.no}/files/0")).status_code == 200
        for no in (theirs.no, filed.no):
            for index in (0, 1):
                answer = await web.get(f"/portal/{token}/info/items/{no}/files/{index}")
                assert answer.status_code == 404, (no, index)
                assert SECRET_TEXT not in answer.text
        # A resubmission naming the other unit's item is refused, and says nothing of it.
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        form = {"csrf_token": csrf[1], "kind": "typical_case", "title": "x", "text": "x", "resubmit": str(theirs.no)}
        refused = await web.post(f"/portal/{token}/info", data=form)
        assert refused.status_code == 400 and THEIRS not in refused.text

    # Search attributes are stored in clear text: ids only.
    desc = await client.get_workflow_handle(channel).describe()
    shown = repr(desc.raw_description.workflow_execution_info.search_attributes)
    shown += repr(desc.raw_description.workflow_execution_info.memo)
    for text in (MINE, THEIRS, SECRET_TEXT):
        assert text.encode("utf-8") not in shown.encode("utf-8") and text not in shown

    # The history as the server stores it (no codec on this read): ciphertext only.
    raw = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=channel))
    )
    stored = raw.history.SerializeToString()
    assert len(raw.history.events) > 5
    for text in (MINE, THEIRS, SECRET_TEXT, "测试单位1"):
        assert text.encode("utf-8") not in stored, f"{text} is in the stored history in clear text"

    # Nothing logged by the worker, the workflow, the activities or the console names an item.
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    out, err = capfd.readouterr()
    for text in (MINE, THEIRS, SECRET_TEXT):
        assert text not in logged and text not in out and text not in err
    assert "information channel opened" in logged, "the workflow's own log lines were not captured"
