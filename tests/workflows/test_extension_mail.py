"""Extension requests (延期申请) reach the office at once, and the decision reaches the unit — real SMTP sink.

On the dev server: the Java test server loses the outcome of a rejected Update.
"""

import asyncio
import datetime as dt
from email.message import EmailMessage

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from schemas.cycle import CycleStatus, DecideExtension, OfficeAction, RequestExtension, UnitQuery, UnitView
from tests.plans import by_template, caught, cycle_input, plan
from tests.snapshots import cycle_snapshot, quiet_cycle_snapshot
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

CST = dt.timezone(dt.timedelta(hours=8))


def text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def mail(sink: SmtpSink, template: str, to: str, n: int = 1) -> list[EmailMessage]:
    """The sink's messages of `template` to `to`, once there are `n` of them (mail goes out within seconds)."""
    for _ in range(200):
        found = [m for m in by_template(sink.messages(), template) if to in str(m["To"])]
        if len(found) >= n:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {template} mail to {to}")


async def test_request_mails_the_office_and_the_decision_mails_the_unit(
    dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
) -> None:
    """A request: the office is mailed at once with who, until when and why. A grant: the unit is told the
    new deadline (not "未获同意"); a refusal: told the reason. Both decisions stay on the unit's page."""
    env = dev_server_env
    inp = cycle_input(plan(3), await env.get_current_time())
    assert inp.spec is not None
    async with running_worker(env.client, cycle_settings):
        handle = await env.client.start_workflow(
            ReportingCycle.run,
            inp,
            id=inp.spec.cycle_id + ":extension-mail",
            task_queue=cycle_settings.temporal.task_queue,
        )
        status = await handle.query(ReportingCycle.get_status)
        due_day = status.unit_due.at.astimezone(CST).date()
        wanted = due_day + dt.timedelta(days=7)

        await handle.execute_update(
            ReportingCycle.request_extension,
            RequestExtension(unit_id="u1", reason="统计数据尚未汇齐", wanted=wanted, by="u1"),
        )
        [asked] = await mail(sink, "extension_requested", "office@yaan.example")
        body = text(asked)
        assert "单位1" in str(asked["Subject"]) and "延期申请待审批" in str(asked["Subject"])
        assert f"{wanted.year}年{wanted.month}月{wanted.day}日" in body and "统计数据尚未汇齐" in body
        board: CycleStatus = await handle.query(ReportingCycle.get_status)
        assert [r.unit_id for r in board.units if r.extension_requested] == ["u1"]

        # A refusal without a reason is refused and changes nothing.
        await handle.execute_update(
            ReportingCycle.request_extension, RequestExtension(unit_id="u2", reason="人手不足", wanted=wanted)
        )
        await mail(sink, "extension_requested", "office@yaan.example", n=2)
        before = await quiet_cycle_snapshot(env.client, handle.id)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ReportingCycle.decide_extension, DecideExtension(unit_id="u2", approve=False, reason=" ", by="op")
            )
        assert "needs a reason" in str(refused.value.cause)
        assert await cycle_snapshot(env.client, handle.id) == before

        await handle.execute_update(
            ReportingCycle.decide_extension, DecideExtension(unit_id="u1", approve=True, by="op")
        )
        await handle.execute_update(
            ReportingCycle.decide_extension,
            DecideExtension(unit_id="u2", approve=False, reason="上级时限不可延后", by="op"),
        )
        [granted] = await mail(sink, "extension_decided", "u1@yaan.example")
        [denied] = await mail(sink, "extension_decided", "u2@yaan.example")
        assert "同意延期至" in str(granted["Subject"])
        assert f"{wanted.year}年{wanted.month}月{wanted.day}日" in text(granted)
        assert "未同意延期" in str(denied["Subject"]) and "上级时限不可延后" in text(denied)

        u1 = await handle.query(ReportingCycle.get_unit, UnitQuery(unit_id="u1"))
        u2: UnitView = await handle.query(ReportingCycle.get_unit, UnitQuery(unit_id="u2"))
        assert u1.state.extension is None and u1.state.extension_decision is not None
        granted_to = u1.state.extension_decision
        assert granted_to.approved and granted_to.due.at.astimezone(CST).date() == wanted
        assert u2.state.extension_decision is not None and not u2.state.extension_decision.approved
        assert u2.state.extension_decision.reason == "上级时限不可延后"
        assert not any(r.extension_requested for r in (await handle.query(ReportingCycle.get_status)).units)
        await handle.execute_update(ReportingCycle.close, OfficeAction(reason="test over", by="op"))
        await handle.result()
    # Each request mailed the office once; nobody else heard of it.
    assert len(by_template(caught(sink.maildir), "extension_requested")) == 2
