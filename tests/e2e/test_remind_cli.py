"""`duban remind` (催办 now, issue 19): the installed command against the dev server, a worker and the SMTP
sink — the message reaches the units still owing with the office's note, once per key, audited."""

import asyncio
import email
import re
from email.policy import default as default_policy
from urllib.parse import quote

import httpx

from console.auth import CSRF_COOKIE, hash_password
from console.web.app import create_app
from schemas.cycle import RemindNow
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.e2e.test_cycle_cli import duban
from tests.security.helpers import OPERATOR, PASSWORD, sign_in
from workflows.reporting_cycle import ReportingCycle

NOTE = "请于今日下班前报送"


def chases(stack: CycleStack, address: str) -> list[str]:
    """Bodies of the 催办 messages (the ones carrying the office's note) mailed to `address`."""
    out = []
    for raw in stack.mail_to(address):
        msg = email.message_from_string(raw, policy=default_policy)
        part = msg.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        if NOTE in text:
            out.append(text)
    return out


async def wait_for_mail(stack: CycleStack, address: str, count: int) -> list[str]:
    for _ in range(150):
        found = chases(stack, address)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.2)
    return chases(stack, address)


class TestRemind:
    async def test_chase_once_per_key_and_refusals(self, cycle_stack: CycleStack) -> None:
        """Every unit still owing gets one 催办 with the note; the same key again sends nothing; a settled unit
        is refused (exit 2; unknown units and the send window: tests/unit/test_chase.py); the chase is in the
        unit's timeline and the audit trail."""
        stack = cycle_stack
        cid = (await stack.open_cycle("chasing")).id
        sent = await duban(stack, "submit", "--cycle", cid, "--unit", "unit-b", "--text", "已报", "--json")
        assert sent.code == 0, sent.err

        args = ("remind", "--cycle", cid, "--note", NOTE, "--urgent", "--key", "click-0001", "--by", "张三", "--json")
        first = (await duban(stack, *args)).json()
        assert first["units"] == ["unit-a", "unit-c"] and first["repeated"] is False
        assert len(await wait_for_mail(stack, "unit-a@units.example", 1)) == 1
        assert len(await wait_for_mail(stack, "unit-c@units.example", 1)) == 1
        assert chases(stack, "unit-b@units.example") == []

        # The same click again: the server knows the Update id and answers what it answered before.
        again = (await duban(stack, *args)).json()
        assert again == first
        # Reaching the cycle under another Update id (a continued-as-new run forgets ids): the key still holds.
        handle = stack.client.get_workflow_handle(cid)
        call = RemindNow(key="click-0001", note=NOTE, urgent=True, by="张三")
        repeated = await handle.execute_update(ReportingCycle.remind_now, call, id="another-id")
        assert repeated.repeated is True and repeated.units == []
        await asyncio.sleep(2)  # time for a second message to show up, were one sent
        assert len(chases(stack, "unit-a@units.example")) == 1

        settled = await duban(stack, "remind", "--cycle", cid, "--unit", "unit-b", "--urgent", "--key", "click-0002")
        assert settled.code == 2 and "nothing outstanding" in settled.err

        state = await stack.client.get_workflow_handle(cid).query(ReportingCycle.get_state)
        assert [e.by for e in state.units["unit-a"].timeline if e.what == "chase"] == ["张三"]
        assert [e.what for e in state.audit if e.what.startswith("chase")] == [f"chase (2 units): {NOTE}"]
        human = await duban(stack, "unit", "show", "unit-a", "--cycle", cid)
        assert "办公室催办" in human.out


async def test_console_button_is_one_click(cycle_stack: CycleStack) -> None:
    """The unit page's 催办 form sent twice (a double click) chases once; a read-only account may not chase."""
    stack = cycle_stack
    cid = (await stack.open_cycle("chasing-button", units={"unit-q": "甲单位"})).id
    settings = stack.settings.model_copy(
        update={
            "operators": {OPERATOR: hash_password(PASSWORD, n=2**4)},
            "leaders": {"wang": hash_password("leader password 1", n=2**4)},
        }
    )
    app = create_app(settings, client=stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web)
        page = await web.get(f"/cycles/{quote(cid, safe='')}/units/unit-q")
        form = re.search(r'action="([^"]+/remind)".*?name="key" value="([0-9a-f]+)"', page.text, re.S)
        assert form, "no 催办 button on the unit page"
        data = {"csrf_token": web.cookies.get(CSRF_COOKIE), "key": form[2], "unit_ids": "unit-q", "back": "unit",
                "note": NOTE, "urgent": "true"}  # fmt: skip
        for _ in range(2):
            done = await web.post(form[1], data=data)
            assert done.status_code == 303 and done.headers["location"].endswith("/units/unit-q")
        assert len(await wait_for_mail(stack, "unit-q@units.example", 1)) == 1
        await asyncio.sleep(2)
        assert len(chases(stack, "unit-q@units.example")) == 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        page = await web.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        await web.post("/login", data={"username": "wang", "password": "leader password 1", "csrf_token": token})
        refused = await web.post(f"/cycles/{quote(cid, safe='')}/remind", data={**data, "key": "another-key-1"})
        assert refused.status_code == 403
