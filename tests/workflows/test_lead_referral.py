"""LeadReferral on the time-skipping server: every path, its clocks, its mail and its refusals.

The worker is the production one for this workflow: the real sandbox and the real
mail activity (`MailActivities.send_batch`, sent-ledger and all) delivering to a
real SMTP sink (aiosmtpd). `MailLog` wraps that activity only to keep each batch it
was given, so a test can say what the workflow asked to send and when (the batch's
instant is workflow time); every test ends by checking that each notification the
activity reported SENT is in the Maildir, to its recipient, under its Message-ID.
"""

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import MailActivities
from activities.mime import message_id
from domain.lead_stages import LeadBook
from schemas.cycle import NewCalendar, RevokeLinks
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    DecideLeadExtension,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadInput,
    LeadStatus,
    LeadStatusQuery,
    LeadUnit,
    RequestLeadExtension,
    RequestReconsideration,
    SignFor,
    StageName,
    Transfer,
)
from schemas.notify import BatchResult, DeliveryStatus, MailBatch
from schemas.people import Person
from schemas.visibility import DUE_AT, ESCALATION_LEVEL, SEARCH_ATTRIBUTES, STAGE, UNITS
from tests.lead_support import AGRICULTURE, MARKET, POLICE, PROCURATORATE, lead_input, save_history
from tests.plans import caught
from workers.activities import build_activities
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import workflow_runner
from workflows.lead_referral import LeadReferral

Handle = WorkflowHandle[LeadReferral, LeadStatus]
_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}
# The sink answers 550 to this address on RCPT: a recipient the mail server refuses.
REFUSING = "refused@yaan.example"


async def register_search_attributes(client: Client) -> None:
    """The test server needs them registered, or the workflow's upsert fails its task forever."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )


class MailLog:
    """The real mail activity, with a note of each batch it was given and what it answered."""

    def __init__(self, mail: MailActivities) -> None:
        self.mail = mail
        self.batches: list[MailBatch] = []
        self.results: list[BatchResult] = []

    @activity.defn(name="send_batch")
    async def send_batch(self, batch: MailBatch) -> BatchResult:
        result = await self.mail.send_batch(batch)
        self.batches.append(batch)
        self.results.append(result)
        return result

    def sent(self, key_part: str) -> list[tuple[MailBatch, str]]:
        """(batch, recipient email) for every notification whose key contains key_part."""
        return [(b, n.to.email or "") for b in self.batches for n in b.notifications if key_part in n.key]

    def statuses(self) -> dict[str, DeliveryStatus]:
        return {d.key: d.status for r in self.results for d in r.deliveries}


@dataclass
class LeadEnv:
    env: WorkflowEnvironment
    mail: MailLog
    task_queue: str
    maildir: Path

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.env, self.mail, self.task_queue))


@pytest.fixture
async def lead_env(task_queue: str, tmp_path: Path) -> AsyncIterator[LeadEnv]:
    """A time-skipping server of the test's own (~0.1 s to start), the real mail activity, an SMTP sink.

    The session's shared server was tried: after one test skipped days ahead, the next test's
    `env.sleep` intermittently hung until the RPC timed out, so each test gets its own clock.
    """
    sink = SmtpSink("127.0.0.1", free_port(), tmp_path / "mail", refuse=[REFUSING])
    sink.start()
    settings = Settings(
        data_dir=tmp_path / "var",
        smtp=SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=5.0),
        temporal=TemporalSettings(task_queue=task_queue),
    )
    try:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(bundled_binary("temporal-test-server")),
            # Plain pydantic (no payload key): the recorded histories must replay without a secret.
            data_converter=pydantic_data_converter,
        ) as env:
            await register_search_attributes(env.client)
            real = build_activities(env.client, settings)
            mail = MailLog(real[0].__self__)  # type: ignore[attr-defined]
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=[LeadReferral],
                workflow_runner=workflow_runner(),
                activities=[mail.send_batch, *real[1:]],
            ):
                yield LeadEnv(env, mail, task_queue, sink.maildir)
                delivered_to_maildir(mail, sink.maildir)
    finally:
        sink.stop()


def delivered_to_maildir(mail: MailLog, maildir: Path) -> None:
    """Each notification the activity reported SENT is in exactly one Maildir message, to its recipient
    (several to one person at one instant share a digest, whose Message-ID the delivery names)."""
    by_id: dict[str, list[str]] = {}
    for msg in caught(maildir):
        by_id.setdefault(str(msg["Message-ID"]), []).append(str(msg["To"].addresses[0].addr_spec))
    to_of = {n.key: n.to.email for b in mail.batches for n in b.notifications}
    sent = [d for r in mail.results for d in r.deliveries if d.status is DeliveryStatus.SENT]
    for d in sent:
        assert by_id.get(d.detail) == [to_of[d.key]], f"{d.key}: {d.detail} delivered to {by_id.get(d.detail)}"
        assert d.detail == message_id(d.key) or len([x for x in sent if x.detail == d.detail]) > 1, d.key
    assert set(by_id) == {d.detail for d in sent}, "the Maildir holds messages no delivery reported"


async def refer(client: Client, task_queue: str, inp: LeadInput) -> Handle:
    return await client.start_workflow(LeadReferral.run, inp, id=inp.lead_id, task_queue=task_queue)


async def status(handle: Handle) -> LeadStatus:
    return await handle.query(LeadReferral.get_status, LeadStatusQuery())


async def until(what: Callable[[], bool], seconds: float = 10) -> None:
    """Wait (real time) for the worker to catch up with a skipped clock."""
    for _ in range(int(seconds / 0.05)):
        if what():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def near(instants: set[dt.datetime], expected: dt.datetime) -> bool:
    """Fired at the expected moment (the test server's timers land a few milliseconds late)."""
    return bool(instants) and all(abs(t - expected) < dt.timedelta(seconds=1) for t in instants)


def new_id() -> str:
    return f"lead:test:{uuid.uuid4().hex[:8]}"


async def input_now(env: WorkflowEnvironment, **kw: object) -> LeadInput:
    return lead_input(await env.get_current_time(), lead_id=new_id(), **kw)  # type: ignore[arg-type]


async def finish(handle: Handle, name: str) -> None:
    await save_history(handle, name)  # type: ignore[arg-type]
    desc = await handle.describe()
    if desc.status is not None and desc.status.name == "RUNNING":
        # Leftover timers would move the shared test clock for everyone else.
        await handle.terminate("test over")


def stage(st: LeadStatus, name: StageName, track: str | None = None, seq: int = 0):  # type: ignore[no-untyped-def]
    return next(r for r in st.stages if r.name is name and r.seq == seq and (track is None or r.track == track))


class TestOnTime:
    async def test_every_stage_met(self, lead_env: LeadEnv) -> None:
        """Customs → market regulation: signed, opened, fed back, closed in time; referrer told each step."""
        env, mail, tq = lead_env
        inp = await input_now(env)
        handle = await refer(env.client, tq, inp)
        receipt = await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj", by="李四"))
        assert receipt.stage == "decide"
        assert receipt.next_due is not None
        await handle.execute_update(LeadReferral.decide, Decide(unit_id="yaan-scj", decision=Decision.OPEN))
        await env.sleep(dt.timedelta(days=2))
        await handle.execute_update(LeadReferral.give_feedback, GiveFeedback(unit_id="yaan-scj", text="已扣押货物"))
        await handle.execute_update(LeadReferral.close, CloseLead(unit_id="yaan-scj", result="没收并罚款"))
        result = await handle.result()
        assert result.closed
        assert result.stage == "closed"
        assert result.escalation_level == 0
        assert all(r.met for r in result.stages)
        assert [(r.name.value, r.unit) for r in result.stages][:4] == [
            ("sign", "yaan-scj"),
            ("decide", "yaan-scj"),
            ("feedback", "yaan-scj"),
            ("close", "yaan-scj"),
        ]
        told = {n.context.stage for b in mail.batches for n in b.notifications if ":done:referrer" in n.key}
        assert told >= {"sign", "decide", "feedback", "close"}
        assert not mail.sent("escalation")
        # One batch per instant: no two batches share an instant.
        instants = [b.instant for b in mail.batches]
        assert len(instants) == len(set(instants))
        await finish(handle, "on-time")


class TestMissedSignFor:
    async def test_escalation_reaches_the_right_people(self, lead_env: LeadEnv) -> None:
        """签收 missed: e1 to the receiver, its leader and the referrer, e2 to leadership and office, on time."""
        env, mail, tq = lead_env
        inp = await input_now(env)
        plan = LeadBook(inp)
        plan.start()
        expected = {i.key: i.at for i in plan.agenda()}
        handle = await refer(env.client, tq, inp)
        now = await env.get_current_time()
        await env.sleep(expected["escalation:e2"] - now + dt.timedelta(minutes=1))
        await until(lambda: bool(mail.sent("escalation:e2")))
        e1 = mail.sent("sign#0:escalation:e1")
        assert {email for _, email in e1} == {
            "yaan-scj@yaan.example",
            "yaan-scj-leader@yaan.example",
            "yaan-hg@yaan.example",
        }
        assert near({b.instant for b, _ in e1}, expected["escalation:e1"])
        e2 = mail.sent("sign#0:escalation:e2")
        assert {email for _, email in e2} == {"leader@yaan.example", "office@yaan.example"}
        assert near({b.instant for b, _ in e2}, expected["escalation:e2"])
        st = await status(handle)
        assert st.escalation_level == 2
        assert any(e.what == "missed" for e in st.timeline)
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(ESCALATION_LEVEL) == 2
        assert desc.typed_search_attributes.get(STAGE) == "sign"
        late = await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj"))
        assert "超时" in late.message
        assert stage(await status(handle), StageName.SIGN).met is False
        await until(lambda: bool(mail.sent("sign#0:done:referrer")))
        await finish(handle, "missed-sign")


class TestRefusals:
    async def test_wrong_unit_and_wrong_stage_change_nothing(self, lead_env: LeadEnv) -> None:
        """Customs signing, or scj closing before deciding: refused with a reason, state untouched."""
        env, _, tq = lead_env
        handle = await refer(env.client, tq, await input_now(env))
        before = await status(handle)
        with pytest.raises(WorkflowUpdateFailedError) as wrong_unit:
            await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-hg"))
        assert isinstance(wrong_unit.value.cause, ApplicationError)
        assert "yaan-scj 签收" in wrong_unit.value.cause.message
        with pytest.raises(WorkflowUpdateFailedError) as wrong_stage:
            await handle.execute_update(LeadReferral.close, CloseLead(unit_id="yaan-scj", result="x"))
        assert isinstance(wrong_stage.value.cause, ApplicationError)
        assert "不能办结" in wrong_stage.value.cause.message
        after = await status(handle)
        assert after.model_dump(exclude={"now"}) == before.model_dump(exclude={"now"})
        await finish(handle, "refusals")


class TestDeclineAndReconsideration:
    async def test_referrer_asks_for_reconsideration(self, lead_env: LeadEnv) -> None:
        """Declined with a reason → customs asks for 复议 → market regulation opens the case → closed."""
        env, mail, tq = lead_env
        handle = await refer(env.client, tq, await input_now(env))
        await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj"))
        r = await handle.execute_update(
            LeadReferral.decide, Decide(unit_id="yaan-scj", decision=Decision.DECLINE, reason="证据不足")
        )
        assert r.stage == "reconsider_request"
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                LeadReferral.request_reconsideration, RequestReconsideration(unit_id="yaan-scj", reason="x")
            )
        await env.sleep(dt.timedelta(hours=20))
        r = await handle.execute_update(
            LeadReferral.request_reconsideration, RequestReconsideration(unit_id="yaan-hg", reason="已补充鉴定意见")
        )
        assert r.stage == "reconsider"
        await handle.execute_update(LeadReferral.decide, Decide(unit_id="yaan-scj", decision=Decision.OPEN))
        await handle.execute_update(LeadReferral.close, CloseLead(unit_id="yaan-scj", result="立案查处"))
        result = await handle.result()
        assert [r.name.value for r in result.stages if r.name is not StageName.FEEDBACK] == [
            "sign",
            "decide",
            "reconsider_request",
            "reconsider",
            "close",
        ]
        assert result.tracks[0].result == "立案查处"
        # The reconsideration stage was the receiver's, announced to it when it opened.
        assert {email for _, email in mail.sent("reconsider#0:opened")} == {"yaan-scj@yaan.example"}
        await finish(handle, "decline-reconsider")


class TestPoliceTransfer:
    async def test_decree_310_clock(self, lead_env: LeadEnv) -> None:
        """Handed to the police: approval, transfer 24 h after approval (urgent reminder 4 h before), filing
        refused, 复议, filed, materials handed over; the procuratorate involved early."""
        env, mail, tq = lead_env
        handle = await refer(env.client, tq, await input_now(env))
        await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj"))
        r = await handle.execute_update(
            LeadReferral.decide, Decide(unit_id="yaan-scj", decision=Decision.POLICE, to=POLICE, reason="涉嫌犯罪")
        )
        assert r.stage == "approve"
        await env.sleep(dt.timedelta(hours=3))
        approved = await handle.execute_update(LeadReferral.approve_transfer, Approve(unit_id="yaan-scj", by="局长"))
        assert approved.stage == "transfer"
        assert approved.next_due == approved.accepted_at + dt.timedelta(hours=24)
        await handle.execute_update(LeadReferral.involve, Involve(unit=PROCURATORATE, note="提前介入"))
        await env.sleep(dt.timedelta(hours=20, minutes=1))
        await until(lambda: bool(mail.sent("transfer#0:reminder:r4h")))
        (reminder_batch, email), *_ = mail.sent("transfer#0:reminder:r4h")
        assert near({reminder_batch.instant}, approved.accepted_at + dt.timedelta(hours=20))
        assert email == "yaan-scj@yaan.example"
        moved = await handle.execute_update(LeadReferral.transfer, Transfer(unit_id="yaan-scj"))
        assert moved.stage == "file"
        st = await status(handle)
        assert stage(st, StageName.TRANSFER).met is True
        assert stage(st, StageName.FILE).unit == "yaan-gaj"
        with pytest.raises(WorkflowUpdateFailedError):  # the agency cannot file for the police
            await handle.execute_update(LeadReferral.decide, Decide(unit_id="yaan-scj", decision=Decision.OPEN))
        await handle.execute_update(
            LeadReferral.decide, Decide(unit_id="yaan-gaj", decision=Decision.DECLINE, reason="未达立案标准")
        )
        await handle.execute_update(
            LeadReferral.request_reconsideration, RequestReconsideration(unit_id="yaan-scj", reason="涉案金额已达标准")
        )
        await handle.execute_update(LeadReferral.decide, Decide(unit_id="yaan-gaj", decision=Decision.OPEN))
        # The run loop publishes search attributes right after the update's workflow task.
        for _ in range(100):
            desc = await handle.describe()
            if desc.typed_search_attributes.get(STAGE) == "handover":
                break
            await asyncio.sleep(0.05)
        assert desc.typed_search_attributes.get(STAGE) == "handover"
        assert set(desc.typed_search_attributes.get(UNITS) or []) == {"yaan-hg", "yaan-scj", "yaan-gaj", "yaan-jcy"}
        assert desc.typed_search_attributes.get(DUE_AT) is not None
        await handle.execute_update(LeadReferral.hand_over, HandOver(unit_id="yaan-scj"))
        result = await handle.result()
        assert result.tracks[0].state.value == "handed_over"
        assert [r.name.value for r in result.stages] == [
            "sign",
            "decide",
            "approve",
            "transfer",
            "file",
            "reconsider_request",
            "reconsider",
            "handover",
        ]
        assert any(e.what == "involved" and e.unit == "yaan-jcy" for e in result.timeline)
        await finish(handle, "police-transfer")


class TestJointHandling:
    async def test_one_late_co_handler(self, lead_env: LeadEnv) -> None:
        """协办 by market regulation and agriculture: only agriculture, late to sign, is escalated."""
        env, mail, tq = lead_env
        inp = await input_now(env, receivers=[MARKET, AGRICULTURE])
        plan = LeadBook(inp)
        plan.start()
        e1_at = next(i.at for i in plan.agenda() if i.key == "escalation:e1")
        handle = await refer(env.client, tq, inp)
        await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id="yaan-scj"))
        await env.sleep(e1_at - await env.get_current_time() + dt.timedelta(minutes=1))
        await until(lambda: bool(mail.sent("escalation:e1")))
        escalated = {email for _, email in mail.sent("escalation:e1")}
        assert escalated == {"yaan-nyj@yaan.example", "yaan-nyj-leader@yaan.example", "yaan-hg@yaan.example"}
        st = await status(handle)
        assert stage(st, StageName.SIGN, "yaan-scj").met is True
        assert stage(st, StageName.SIGN, "yaan-nyj").done_at is None
        assert stage(st, StageName.DECIDE, "yaan-scj").due > stage(st, StageName.SIGN, "yaan-scj").due
        await finish(handle, "joint-late")


class TestUndeliverable:
    async def test_refused_and_missing_addresses_are_recorded_and_the_clock_goes_on(self, lead_env: LeadEnv) -> None:
        """The receiver's contact is refused (550), its leader has no address: each is on the lead's timeline,
        the others still get their mail, and the escalation still happens on time."""
        env, mail, tq = lead_env
        receiver = LeadUnit(
            id="yaan-zjj",
            name="市质监局",
            contacts=[Person(name="质监局联系人", email=REFUSING)],
            leader=Person(name="质监局负责人"),  # no email, no webhook
        )
        inp = await input_now(env, receivers=[receiver])
        plan = LeadBook(inp)
        plan.start()
        e1_at = next(i.at for i in plan.agenda() if i.key == "escalation:e1")
        handle = await refer(env.client, tq, inp)
        await env.sleep(e1_at - await env.get_current_time() + dt.timedelta(minutes=1))
        await until(lambda: bool(mail.sent("escalation:e1")))
        statuses = mail.statuses()
        e1 = {k: v for k, v in statuses.items() if "sign#0:escalation:e1" in k}
        to = {n.key: n.to for b in mail.batches for n in b.notifications}
        assert {to[k].email: v for k, v in e1.items()} == {
            REFUSING: DeliveryStatus.REFUSED,
            None: DeliveryStatus.NO_ADDRESS,
            "yaan-hg@yaan.example": DeliveryStatus.SENT,
        }
        opened = [k for k in statuses if ":sign#0:opened:" in k]
        assert opened and all(statuses[k] is DeliveryStatus.REFUSED for k in opened if to[k].email == REFUSING)
        st = await status(handle)
        assert st.escalation_level >= 1 and st.stage == "sign"
        # Every undeliverable notification is on the timeline under its key, with the reason.
        on_timeline = {(e.what, e.detail.split(": ")[0]) for e in st.timeline if e.what.startswith("mail_")}
        assert on_timeline == {
            (f"mail_{v.value}", k)
            for k, v in statuses.items()
            if v in (DeliveryStatus.REFUSED, DeliveryStatus.NO_ADDRESS)
        }
        assert all("550" in e.detail for e in st.timeline if e.what == "mail_refused")
        assert REFUSING not in {m["To"].addresses[0].addr_spec for m in caught(lead_env.maildir)}
        await finish(handle, "undeliverable")


SH = ZoneInfo("Asia/Shanghai")


class TestNewHolidayData:
    async def test_update_calendar_moves_an_open_stage_once_and_refuses_bad_data(self, lead_env: LeadEnv) -> None:
        """The year's notice makes the sign-for due day a holiday: the limit moves a day, the unit hears once."""
        env, mail, tq = lead_env
        inp = await input_now(env)
        handle = await refer(env.client, tq, inp)
        before = stage(await status(handle), StageName.SIGN)
        day = before.due.astimezone(SH).date()
        cal = inp.calendar.model_copy(deep=True)
        cal.years[day.year].holidays[day] = "测试假日"
        with pytest.raises(WorkflowUpdateFailedError) as wrong_zone:
            await handle.execute_update(
                LeadReferral.update_calendar, NewCalendar(calendar=cal.model_copy(update={"tz": "Asia/Tokyo"}))
            )
        assert isinstance(wrong_zone.value.cause, ApplicationError)
        assert "Asia/Tokyo" in wrong_zone.value.cause.message
        assert stage(await status(handle), StageName.SIGN).due == before.due
        moved = await handle.execute_update(LeadReferral.update_calendar, NewCalendar(calendar=cal, by="office"))
        assert moved.moved == ["yaan-scj:sign#0"]
        after = stage(await status(handle), StageName.SIGN)
        assert after.due.astimezone(SH).date() > day
        # The same data again moves nothing and mails nothing more.
        again = await handle.execute_update(LeadReferral.update_calendar, NewCalendar(calendar=cal, by="office"))
        assert again.moved == []
        await until(lambda: bool(mail.sent(":moved:")))
        assert [to for _, to in mail.sent(":moved:")] == ["yaan-scj@yaan.example"]
        assert any(e.what == "deadline_moved" and e.by == "office" for e in (await status(handle)).timeline)
        await finish(handle, "calendar")


class TestExtension:
    async def test_request_refusals_grant_and_revoked_links(self, lead_env: LeadEnv) -> None:
        """延期申请 through the workflow: refused calls change nothing and fail no task, the office hears at once,
        a refusal and then a grant reach the unit by mail, the grant moves the clock; a unit's links revoked."""
        env, mail, tq = lead_env
        handle = await refer(env.client, tq, await input_now(env))
        before = stage(await status(handle), StageName.SIGN)
        ask = RequestLeadExtension(unit_id=MARKET.id, stage=StageName.SIGN, days=1, reason="核实中", by="scj")
        for bad, words in [
            (ask.model_copy(update={"days": 2}), "最多还能延长1个工作日"),
            (ask.model_copy(update={"reason": " "}), "须说明理由"),
            (ask.model_copy(update={"stage": StageName.CLOSE}), "现在不能申请延期"),
        ]:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(LeadReferral.request_extension, bad)
            assert isinstance(refused.value.cause, ApplicationError) and words in refused.value.cause.message
        with pytest.raises(WorkflowUpdateFailedError) as nothing:
            await handle.execute_update(
                LeadReferral.decide_extension, DecideLeadExtension(unit_id=MARKET.id, approve=True, by="office")
            )
        assert isinstance(nothing.value.cause, ApplicationError) and "没有待审批" in nothing.value.cause.message
        assert (await status(handle)).stages == [before]

        receipt = await handle.execute_update(LeadReferral.request_extension, ask)
        assert "等待办公室审批" in receipt.message
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(LeadReferral.request_extension, ask)  # one pending at a time
        await until(lambda: bool(mail.sent(":extension:")))
        assert [to for _, to in mail.sent(":extension:")] == ["office@yaan.example"]

        no = DecideLeadExtension(unit_id=MARKET.id, approve=False, reason="时限足够", by="office")
        await handle.execute_update(LeadReferral.decide_extension, no)
        assert stage(await status(handle), StageName.SIGN).due == before.due
        await handle.execute_update(LeadReferral.request_extension, ask)
        yes = DecideLeadExtension(unit_id=MARKET.id, approve=True, by="office")
        granted = await handle.execute_update(LeadReferral.decide_extension, yes)
        after = stage(await status(handle), StageName.SIGN)
        assert after.due > before.due and granted.next_due == after.due and after.extended == 1
        await until(lambda: len(mail.sent(":extension:")) == 4)
        assert sorted(to for _, to in mail.sent(":extension:")) == [
            "office@yaan.example",
            "office@yaan.example",
            "yaan-scj@yaan.example",
            "yaan-scj@yaan.example",
        ]

        revoked = await handle.execute_update(
            LeadReferral.revoke_links, RevokeLinks(unit_id=MARKET.id, reason="链接外泄", by="office")
        )
        final = await status(handle)
        assert final.links_valid_from == {MARKET.id: revoked.links_valid_from}
        whats = [(e.what, e.by) for e in final.timeline]
        assert ("extension_refused", "office") in whats and ("extension_granted", "office") in whats
        assert ("links_revoked", "office") in whats
        await handle.execute_update(LeadReferral.sign_for, SignFor(unit_id=MARKET.id))
        await finish(handle, "extension")
