"""Lead extensions (延期申请) in the stage book: who may ask, what the office may grant, how the clock moves."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.lead_policies import decree_310
from domain.lead_stages import LeadBook, Refused
from schemas.cycle import NewCalendar
from schemas.lead import (
    Approve,
    Decide,
    DecideLeadExtension,
    Decision,
    ExtensionState,
    ReferralPolicy,
    RequestLeadExtension,
    SignFor,
    StageName,
    Transfer,
)
from tests.lead_support import MARKET, POLICE, lead_input

SH = ZoneInfo("Asia/Shanghai")
# Tuesday 2026-12-01, 10:00: signing for is due Wednesday 12-02 24:00 (1 working day).
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
SCJ = MARKET.id


def book() -> LeadBook:
    b = LeadBook(lead_input(START))
    b.start()
    b.take_outbox()
    return b


def ask(days: int = 1, reason: str = "需要核实出口记录", **kw: object) -> RequestLeadExtension:
    return RequestLeadExtension(unit_id=SCJ, days=days, reason=reason, by="scj（线索专用链接）", **kw)


def decided(approve: bool = True, reason: str = "", days: int | None = None) -> DecideLeadExtension:
    return DecideLeadExtension(unit_id=SCJ, approve=approve, reason=reason, days=days, by="郑继勇")


def snapshot(b: LeadBook) -> str:
    return b.status(START).model_dump_json() + repr(b.outbox)


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


class TestRequest:
    def test_request_is_audited_and_the_office_is_mailed(self) -> None:
        """The receipt says it waits for the office; the timeline names who asked; the office gets one mail."""
        b = book()
        receipt = b.apply_request_extension(ask(), at(1))
        assert receipt.action == "request_extension" and "等待办公室审批" in receipt.message
        record = b.open_records()[0]
        assert record.extension is not None and record.extension.state is ExtensionState.PENDING
        event = b.timeline[-1]
        assert (event.what, event.by, event.at) == ("extension_requested", "scj（线索专用链接）", at(1))
        assert "需要核实出口记录" in event.detail
        mails = b.take_outbox()
        assert [(m.to.email, m.context.stage_event) for m in mails] == [("office@yaan.example", "extension_requested")]
        # The due has not moved: only the office's grant moves it.
        assert record.due == dt.datetime(2026, 12, 2, 23, 59, 59, tzinfo=SH)

    @pytest.mark.parametrize(
        ("call", "hours", "words"),
        [
            (ask(reason="   "), 1, "须说明理由"),
            (ask(days=2), 1, "最多还能延长1个工作日"),
            (ask(stage=StageName.DECIDE), 1, "现在不能申请延期"),
            (ask(), 40, "已届满"),
        ],
        ids=["blank-reason", "too-long", "stage-not-running", "after-due"],
    )
    def test_refused_requests_change_nothing(self, call: RequestLeadExtension, hours: float, words: str) -> None:
        """Refused with the reason in Chinese; state, timeline and outbox as they were."""
        b = book()
        before = snapshot(b)
        with pytest.raises(Refused, match=words):
            b.check_request_extension(call, at(hours))
        assert snapshot(b) == before

    def test_one_pending_request_at_a_time(self) -> None:
        b = book()
        b.apply_request_extension(ask(), at(1))
        with pytest.raises(Refused, match="已有一份延期申请"):
            b.check_request_extension(ask(), at(2))

    def test_a_unit_outside_the_lead_is_refused(self) -> None:
        b = book()
        with pytest.raises(Refused, match="不是线索"):
            b.check_request_extension(ask().model_copy(update={"unit_id": "yaan-gaj"}), at(1))

    def test_empty_reason_and_days_outside_the_range_are_refused_by_the_model(self) -> None:
        for bad in ({"reason": ""}, {"days": 0}, {"days": 367}):
            with pytest.raises(ValidationError):
                RequestLeadExtension.model_validate({"unit_id": SCJ, "days": 1, "reason": "x", **bad})


class TestStatutoryLimits:
    def test_decree_310_limits_cannot_be_extended(self) -> None:
        """The police's 3-day filing review (Art. 8) is the decree's, not the office's: no extension."""
        b = book()
        b.apply_sign_for(SignFor(unit_id=SCJ), at(1))
        b.apply_decide(Decide(unit_id=SCJ, decision=Decision.POLICE, to=POLICE, reason="涉嫌犯罪"), at(2))
        b.apply_approve(Approve(unit_id=SCJ), at(3))
        b.apply_transfer(Transfer(unit_id=SCJ), at(4))
        filing = next(r for r in b.open_records() if r.name is StageName.FILE)
        view = next(r for r in b.status(at(5)).stages if r.name is StageName.FILE)
        assert view.extension_left == 0
        call = RequestLeadExtension(unit_id=POLICE.id, days=1, reason="案情复杂")
        with pytest.raises(Refused, match="国务院令第310号"):
            b.check_request_extension(call, at(5))
        assert filing.extension is None

    def test_a_plan_cannot_make_a_decree_310_limit_extendable(self) -> None:
        stages = [
            s.model_copy(update={"max_extension": 3}) if s.name is StageName.FILE else s for s in decree_310().stages
        ]
        with pytest.raises(ValidationError, match="statutory"):
            ReferralPolicy(name="decree-310", stages=stages)


class TestDecision:
    def test_grant_moves_the_clock_and_tells_the_unit(self) -> None:
        """One working day more: Wednesday 24:00 → Thursday 24:00, the rule says so, the unit gets the news."""
        b = book()
        b.apply_request_extension(ask(), at(1))
        b.take_outbox()
        receipt = b.apply_decide_extension(decided(), at(2))
        record = b.open_records()[0]
        assert record.due == dt.datetime(2026, 12, 3, 23, 59, 59, tzinfo=SH) == receipt.next_due
        assert record.extended == 1 and "经批准延期1个工作日" in record.due_rule_zh
        assert record.extension is not None and record.extension.state is ExtensionState.GRANTED
        assert b.timeline[-1].what == "extension_granted" and b.timeline[-1].by == "郑继勇"
        mails = b.take_outbox()
        assert [(m.to.email, m.context.stage_event, m.context.portal_link) for m in mails] == [
            ("yaan-scj@yaan.example", "extension_granted", True)
        ]
        assert mails[0].context.previous_due is not None
        # Nothing is left to grant for a 1-working-day limit; the view says so.
        assert b.status(at(3)).stages[0].extension_left == 0

    def test_grant_after_the_due_moment_replaces_the_ladder(self) -> None:
        """Granted after the sign-for limit ran out: the due moment fires again at the new date, as a new mail."""
        b = book()
        b.apply_request_extension(ask(), at(1))
        passed = dt.datetime(2026, 12, 3, 9, 0, tzinfo=SH)
        b.fire_due(passed)
        assert b.open_records()[0].fired and any(e.what == "missed" for e in b.timeline)
        b.take_outbox()
        b.apply_decide_extension(decided(), passed)
        record = b.open_records()[0]
        assert "due" not in record.fired
        b.fire_due(dt.datetime(2026, 12, 4, 12, 0, tzinfo=SH))
        assert "due" in record.fired
        keys = [m.key for m in b.take_outbox()]
        rungs = [k for k in keys if ":escalation:" in k]
        assert rungs and all("sign#0+1:" in k for k in rungs), keys

    def test_refusal_needs_a_reason_and_keeps_the_clock(self) -> None:
        b = book()
        b.apply_request_extension(ask(), at(1))
        due = b.open_records()[0].due
        with pytest.raises(Refused, match="须说明理由"):
            b.check_decide_extension(decided(approve=False))
        b.apply_decide_extension(decided(approve=False, reason="时限已很宽裕"), at(2))
        record = b.open_records()[0]
        assert record.due == due and record.extension is not None and record.extension.state is ExtensionState.REFUSED
        assert [m.context.stage_event for m in b.take_outbox()][-1] == "extension_refused"
        # A refusal frees the stage for a new request.
        b.check_request_extension(ask(), at(3))

    def test_nothing_pending_nothing_to_decide(self) -> None:
        b = book()
        with pytest.raises(Refused, match="没有待审批的延期申请"):
            b.check_decide_extension(decided())

    def test_the_office_cannot_grant_more_than_the_policy_allows(self) -> None:
        b = book()
        b.apply_request_extension(ask(), at(1))
        with pytest.raises(Refused, match="最多还能延长"):
            b.check_decide_extension(decided(days=5))

    def test_new_holiday_data_keeps_the_extension(self) -> None:
        """Recounting on a new calendar counts the limit, then the granted days, again."""
        b = book()
        b.apply_request_extension(ask(), at(1))
        b.apply_decide_extension(decided(), at(2))
        cal = b.spec.calendar.model_copy(deep=True)
        cal.years[2026].holidays[dt.date(2026, 12, 3)] = "测试假日"
        b.apply_update_calendar(NewCalendar(calendar=cal), at(3))
        assert b.open_records()[0].due == dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=SH)


class TestRevokedLinks:
    def test_revocation_is_on_the_timeline_and_the_status(self) -> None:
        b = book()
        b.apply_revoke_links(SCJ, "郑继勇", "链接被转发", at(1))
        assert b.status(at(1)).links_valid_from == {SCJ: at(1)}
        assert (b.timeline[-1].what, b.timeline[-1].by) == ("links_revoked", "郑继勇")
        with pytest.raises(Refused):
            b.check_revoke_links("yaan-gaj")
