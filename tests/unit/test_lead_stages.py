"""The lead stage book: transitions, refusals, clocks and ladders on the real 2026 calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from console.lead_cmd import app as lead_app
from domain.lead_policies import between_agencies, decree_310, default_policies, policies_for
from domain.lead_stages import LeadBook, Refused
from schemas.cycle import NewCalendar
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    ReferralPolicy,
    RequestReconsideration,
    SignFor,
    StageName,
    TrackState,
    Transfer,
)
from tests.lead_support import AGRICULTURE, CUSTOMS, MARKET, POLICE, PROCURATORATE, lead_input

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def book(at: dt.datetime, **kw: object) -> LeadBook:
    b = LeadBook(lead_input(at, **kw))  # type: ignore[arg-type]
    b.start()
    return b


def open_stage(b: LeadBook, track: str | None = None) -> list[tuple[str, str]]:
    return [(r.name.value, r.unit) for r in b.open_records() if track is None or r.track == track]


class TestPolicies:
    def test_printed_policies_read_back_as_the_defaults(self) -> None:
        """`duban lead policies` prints a plan block that validates back to exactly default_policies()."""
        result = CliRunner().invoke(lead_app, ["policies"])
        assert result.exit_code == 0, result.output
        block = yaml.safe_load(result.output)["referral_policies"]
        assert [ReferralPolicy.model_validate(p) for p in block] == default_policies()
        assert [p["name"] for p in block] == ["between-agencies", "decree-310"]

    def test_plan_overrides_a_default_by_name(self) -> None:
        """A plan's policy replaces the shipped one of the same name; the other stays available."""
        mine = between_agencies().model_copy(update={"title": "ours"})
        found = policies_for([mine])
        assert found["between-agencies"].title == "ours"
        assert "decree-310" in found

    def test_incoherent_policy_is_refused(self) -> None:
        """A policy with reconsideration request but no reconsideration decision is an error."""
        stages = [s for s in between_agencies().stages if s.name is not StageName.RECONSIDER]
        with pytest.raises(ValidationError, match="go together"):
            ReferralPolicy(name="bad", stages=stages)


class TestOnTime:
    def test_every_stage_met_and_referrer_told(self) -> None:
        """sign → decide open → feedback → close, all in time: met everywhere, the referrer hears each step."""
        t0 = local(2026, 11, 2, 10)  # Monday
        b = book(t0)
        assert open_stage(b) == [("sign", "yaan-scj")]
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0 + dt.timedelta(hours=2))
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.OPEN), t0 + dt.timedelta(days=1))
        assert sorted(open_stage(b)) == [("close", "yaan-scj"), ("feedback", "yaan-scj")]
        b.apply_give_feedback(GiveFeedback(unit_id="yaan-scj", text="已立案调查"), t0 + dt.timedelta(days=3))
        b.apply_close(CloseLead(unit_id="yaan-scj", result="罚款20万元"), t0 + dt.timedelta(days=12))
        assert b.closed
        assert b.tracks["yaan-scj"].state is TrackState.CLOSED
        assert all(r.met for r in b.records)
        done_to_referrer = [n for n in b.outbox if n.context.stage_event == "done" and n.role == "referrer"]
        assert {n.context.stage for n in done_to_referrer} == {"sign", "decide", "feedback", "close"}
        assert all(n.to.email == "yaan-hg@yaan.example" for n in done_to_referrer)

    def test_feedback_cadence_missed_before_closing(self) -> None:
        """No feedback for 17 days (cadence 10 working days): that feedback round is recorded as missed."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.OPEN), t0)
        b.apply_close(CloseLead(unit_id="yaan-scj", result="结案"), t0 + dt.timedelta(days=17))
        feedback = next(r for r in b.records if r.name is StageName.FEEDBACK)
        assert feedback.met is False
        assert feedback.outcome == "随办理结束"

    def test_notification_keys_are_unique(self) -> None:
        """Every queued notification has its own key (it becomes the Message-ID)."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0, receivers=[MARKET, AGRICULTURE])
        b.fire_due(t0 + dt.timedelta(days=30))
        keys = [n.key for n in b.outbox]
        assert len(keys) == len(set(keys)) > 4


class TestClocks:
    def test_sign_for_is_one_working_day(self) -> None:
        """Referred on a Friday: 签收 is due Monday at 24:00 (weekend skipped)."""
        b = book(local(2026, 11, 6, 15))
        (rec,) = b.open_records()
        assert rec.due.astimezone(SH) == local(2026, 11, 9, 23, 59, 59)

    def test_national_day_week_working_days(self) -> None:
        """Referred Wed 2026-09-30: Oct 1-7 are holidays, so 签收 is due Thu Oct 8; Sat Oct 10 (调休) counts."""
        b = book(local(2026, 9, 30, 16))
        (sign,) = b.open_records()
        assert sign.due.astimezone(SH).date() == dt.date(2026, 10, 8)
        assert "国庆节" in sign.due_rule
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), local(2026, 10, 8, 9))
        (decide,) = b.open_records()
        # Oct 9 (Fri), Oct 10 (Sat, 调休 working), Oct 12, 13, 14 → due Wed Oct 14.
        assert decide.due.astimezone(SH).date() == dt.date(2026, 10, 14)
        assert "make-up" in decide.due_rule

    def test_september_makeup_sunday_counts(self) -> None:
        """Referred Sat 2026-09-19: Sun Sep 20 is a make-up working day, so 签收 is due that Sunday."""
        b = book(local(2026, 9, 19, 11))
        (sign,) = b.open_records()
        assert sign.due.astimezone(SH).date() == dt.date(2026, 9, 20)

    def test_decree_310_days_roll_over_national_day(self) -> None:
        """Decree 310's 3 days from Sep 29 end Oct 2, a holiday: rolled to Thu Oct 8 (Civil Code Art. 203)."""
        b = book(local(2026, 9, 29, 10), referrer=MARKET, receivers=[POLICE], policy=decree_310())
        (approve,) = b.open_records()
        assert (approve.name, approve.unit) == (StageName.APPROVE, "yaan-scj")
        assert approve.due.astimezone(SH) == local(2026, 10, 8, 23, 59, 59)
        assert "Art. 203" in approve.due_rule

    def test_transfer_is_24_hours_even_on_holidays(self) -> None:
        """Approved Oct 1 09:30 (a holiday): the 24-hour transfer limit is not rolled."""
        b = book(local(2026, 9, 29, 10), referrer=MARKET, receivers=[POLICE], policy=decree_310())
        approved = local(2026, 10, 1, 9, 30)
        b.apply_approve(Approve(unit_id="yaan-scj"), approved)
        (transfer,) = b.open_records()
        assert transfer.due == approved + dt.timedelta(hours=24)

    def test_escalations_go_to_the_named_roles_after_due(self) -> None:
        """Missed 签收: e1 to the receiver, its leader and the referrer next working morning; e2 to leadership."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.take_outbox()
        b.fire_due(local(2026, 11, 4, 9, 0))  # due Tue 24:00 → e1 Wed 09:00
        e1 = [n for n in b.take_outbox() if n.context.stage_event == "missed"]
        assert {n.to.email for n in e1} == {
            "yaan-scj@yaan.example",
            "yaan-scj-leader@yaan.example",
            "yaan-hg@yaan.example",
        }
        assert {n.context.escalation_level for n in e1} == {1}
        assert b.escalation_level == 1
        b.fire_due(local(2026, 11, 6, 9, 0))  # 2 working days after Tue → Thu 09:00
        e2 = [n for n in b.take_outbox() if n.context.stage_event == "missed"]
        assert {n.to.email for n in e2} == {"leader@yaan.example", "office@yaan.example"}
        assert b.escalation_level == 2
        assert any(e.what == "missed" for e in b.timeline)

    def test_reminder_before_stage_start_is_dropped(self) -> None:
        """A 1-day reminder of a 3-day stage opened late on a Friday still lands after the stage opened."""
        t0 = local(2026, 11, 6, 10)
        b = book(t0, referrer=MARKET, receivers=[POLICE], policy=decree_310())
        assert all(i.at > t0 for i in b.agenda())


class TestRefusals:
    def test_wrong_unit_is_refused_and_nothing_changes(self) -> None:
        """Customs cannot sign for its own referral; the book is unchanged."""
        b = book(local(2026, 11, 2, 10))
        before = b.status(local(2026, 11, 2, 11)).model_dump()
        with pytest.raises(Refused, match="正在等待：yaan-scj 签收"):
            b.check_sign_for(SignFor(unit_id="yaan-hg"))
        with pytest.raises(Refused, match="不是线索"):
            b.apply_sign_for(SignFor(unit_id="yaan-nyj"), local(2026, 11, 2, 11))
        assert b.status(local(2026, 11, 2, 11)).model_dump() == before

    def test_wrong_stage_is_refused(self) -> None:
        """Closing before signing for is refused with what the lead is waiting for."""
        b = book(local(2026, 11, 2, 10))
        with pytest.raises(Refused, match="不能办结"):
            b.check_close(CloseLead(unit_id="yaan-scj", result="x"))

    def test_police_decision_without_police_policy(self) -> None:
        """Without a police policy a lead cannot be handed to the police."""
        t0 = local(2026, 11, 2, 10)
        inp = lead_input(t0)
        inp = inp.model_copy(update={"police_policy": None})
        b = LeadBook(inp)
        b.start()
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        with pytest.raises(Refused, match="no police policy"):
            b.check_decide(Decide(unit_id="yaan-scj", decision=Decision.POLICE, to=POLICE))

    def test_decline_needs_reason(self) -> None:
        """A decline without a reason is not even a valid call."""
        with pytest.raises(ValidationError, match="reason"):
            Decide(unit_id="yaan-scj", decision=Decision.DECLINE)


class TestPaths:
    def test_decline_then_reconsideration_reopens(self) -> None:
        """Declined → the referrer asks for 复议 → the receiver opens the case after all."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.DECLINE, reason="证据不足"), t0)
        assert open_stage(b) == [("reconsider_request", "yaan-hg")]
        b.apply_request_reconsideration(RequestReconsideration(unit_id="yaan-hg", reason="补充鉴定"), t0)
        assert open_stage(b) == [("reconsider", "yaan-scj")]
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.OPEN), t0)
        assert sorted(open_stage(b)) == [("close", "yaan-scj"), ("feedback", "yaan-scj")]

    def test_unrequested_reconsideration_lapses(self) -> None:
        """Nobody asks for 复议 in time: the stage lapses (not missed) and the decline stands."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.DECLINE, reason="不属本部门管辖"), t0)
        b.fire_due(t0 + dt.timedelta(days=30))
        assert b.closed
        assert b.tracks["yaan-scj"].state is TrackState.DECLINED
        lapsed = b.records[-1]
        assert lapsed.name is StageName.RECONSIDER_REQUEST
        assert lapsed.met is None
        assert b.escalation_level == 0

    def test_transfer_to_another_agency_starts_a_new_track(self) -> None:
        """Transfer: the first track ends, the other agency signs for it on its own clock."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.TRANSFER, to=AGRICULTURE, reason="农资"), t0)
        assert b.tracks["yaan-scj"].state is TrackState.TRANSFERRED
        assert open_stage(b) == [("sign", "yaan-nyj")]

    def test_handed_to_police_runs_decree_310(self) -> None:
        """police → approve (agency) → transfer → file (police) declines → 复议 → filed → hand-over."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0)
        b.apply_decide(Decide(unit_id="yaan-scj", decision=Decision.POLICE, to=POLICE), t0)
        assert open_stage(b) == [("approve", "yaan-scj")]
        b.apply_approve(Approve(unit_id="yaan-scj"), t0 + dt.timedelta(hours=1))
        b.apply_transfer(Transfer(unit_id="yaan-scj"), t0 + dt.timedelta(hours=5))
        assert open_stage(b) == [("file", "yaan-gaj")]
        with pytest.raises(Refused, match="只能决定立案"):
            b.check_decide(Decide(unit_id="yaan-gaj", decision=Decision.TRANSFER, to=AGRICULTURE))
        b.apply_decide(Decide(unit_id="yaan-gaj", decision=Decision.DECLINE, reason="不够立案标准"), t0)
        assert open_stage(b) == [("reconsider_request", "yaan-scj")]
        b.apply_request_reconsideration(RequestReconsideration(unit_id="yaan-scj", reason="数额已达标准"), t0)
        b.apply_decide(Decide(unit_id="yaan-gaj", decision=Decision.OPEN), t0)
        assert open_stage(b) == [("handover", "yaan-scj")]
        b.apply_hand_over(HandOver(unit_id="yaan-scj"), t0)
        assert b.closed
        assert b.tracks["yaan-scj"].state is TrackState.HANDED_OVER
        assert b.unit_ids() == ["yaan-hg", "yaan-scj", "yaan-gaj"]

    def test_joint_handling_clocks_are_separate(self) -> None:
        """协办: one receiver signs, the other is late; only the late one escalates."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0, receivers=[MARKET, AGRICULTURE])
        b.apply_sign_for(SignFor(unit_id="yaan-scj"), t0 + dt.timedelta(hours=1))
        b.take_outbox()
        b.fire_due(local(2026, 11, 4, 9))
        escalated = {n.to.email for n in b.take_outbox() if n.context.escalation_level}
        assert "yaan-nyj@yaan.example" in escalated
        assert "yaan-scj@yaan.example" not in escalated
        signs = {r.track: r for r in b.records if r.name is StageName.SIGN}
        assert signs["yaan-scj"].met is True
        assert signs["yaan-nyj"].open

    def test_early_involvement_is_recorded(self) -> None:
        """提前介入 of the procuratorate: a timeline entry, a unit of the lead, the referrer told; once only."""
        t0 = local(2026, 11, 2, 10)
        b = book(t0)
        b.apply_involve(Involve(unit=PROCURATORATE, note="提前介入引导取证"), t0)
        assert "yaan-jcy" in b.unit_ids()
        assert b.timeline[-1].what == "involved"
        with pytest.raises(Refused, match="already involved"):
            b.check_involve(Involve(unit=PROCURATORATE))
        assert any(n.context.stage == "involve" and n.to.email == CUSTOMS.contacts[0].email for n in b.outbox)


class TestNewHolidayData:
    def test_a_year_of_holidays_is_refused_and_changes_nothing(self) -> None:
        """A calendar no notice could be (every day of 2027 a holiday) is refused before any stage moves."""
        b = book(local(2026, 12, 30, 10))
        before = [r.model_copy() for r in b.records]
        cal = b.spec.calendar.model_copy(deep=True)
        start = dt.date(2027, 1, 1)
        cal.years[2027].holidays = {start + dt.timedelta(days=i): "假" for i in range(365)}
        with pytest.raises(Refused, match="不是一份放假安排"):
            b.check_update_calendar(NewCalendar(calendar=cal))
        assert b.records == before

    def test_a_moved_due_is_mailed_to_the_actor_once(self) -> None:
        """The notice makes the sign-for due day a holiday: the due moves to the next working day, one mail."""
        b = book(local(2026, 12, 1, 10))
        b.take_outbox()
        day = b.records[0].due.astimezone(SH).date()
        cal = b.spec.calendar.model_copy(deep=True)
        cal.years[day.year].holidays[day] = "测试假日"
        moved = b.apply_update_calendar(NewCalendar(calendar=cal, by="office"), local(2026, 12, 1, 11))
        assert moved.moved == ["yaan-scj:sign#0"]
        assert b.records[0].due.astimezone(SH).date() == dt.date(2026, 12, 3)
        assert [n.to.email for n in b.take_outbox()] == ["yaan-scj@yaan.example"]
        again = b.apply_update_calendar(NewCalendar(calendar=cal, by="office"), local(2026, 12, 1, 12))
        assert again.moved == [] and b.take_outbox() == []
