"""The information channel's pure book: periods, tallies, checks, the forwarding clock and the plan section."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from activities.holidays import load_calendar
from domain.info_book import FORWARD_MARGIN, InfoBook, Refused, period_months, statistics
from domain.plan_check import check_plan
from schemas.calendar import DueRule, LadderStep, RuleKind
from schemas.info import DecideItem, Decision, ForwardItem, InfoState, split_item_id
from schemas.info_plan import InfoKind, InfoPlan, parse_kind
from schemas.plan import UpperOffice
from tests.info_support import channel_input, info_plan, submit_call

ROOT = Path(__file__).resolve().parents[2]
# Monday 2026-03-30 10:00 in Shanghai: two working days later is Wednesday Apr 1.
MONDAY = dt.datetime(2026, 3, 30, 2, 0, tzinfo=dt.UTC)
UPPER = UpperOffice(id="sc", name="四川省打假办", email="office@sc.example")


def book(rules: InfoPlan | None = None, upper: UpperOffice | None = UPPER) -> InfoBook:
    inp = channel_input(info_plan(rules=rules, upper=upper), MONDAY)
    return InfoBook(inp.spec, None)


class TestPeriods:
    @pytest.mark.parametrize(
        ("period", "first", "count", "words"),
        [
            ("2026-M03", "2026-03", 1, "2026年3月"),
            ("2026-03", "2026-03", 1, "2026年3月"),
            ("2026-q4", "2026-10", 3, "2026年第四季度"),
            ("2026-H2", "2026-07", 6, "2026年下半年"),
            ("2026-Y", "2026-01", 12, "2026年"),
            ("2026", "2026-01", 12, "2026年"),
        ],
    )
    def test_periods_people_write(self, period: str, first: str, count: int, words: str) -> None:
        """Month, quarter, half and year labels name their months and read in Chinese."""
        months, zh = period_months(period)
        assert (months[0], len(months), zh) == (first, count, words)

    @pytest.mark.parametrize("bad", ["", "2026-Q5", "2026-M13", "26-Q1", "2026-W01", "2026-M00", "Q4"])
    def test_nonsense_is_refused(self, bad: str) -> None:
        """Anything else is a clear error, not an empty table."""
        with pytest.raises(ValueError, match="expected 2026-M03"):
            period_months(bad)

    def test_item_ids_round_trip_and_refuse_garbage(self) -> None:
        """The id on a receipt leads back to its channel and number; junk is refused."""
        assert split_item_id("yaan-qingfeng:yaan-dajiaban:12") == ("info:yaan-qingfeng:yaan-dajiaban", 12)
        for bad in ("12", "a:b", "a:b:x", "a:b:c:1", ":b:1"):
            with pytest.raises(ValueError, match="not an item id"):
                split_item_id(bad)

    def test_kinds_in_either_language(self) -> None:
        assert parse_kind("典型案例") is InfoKind.TYPICAL_CASE
        assert parse_kind("work_update") is InfoKind.WORK_UPDATE
        with pytest.raises(ValueError, match="unknown kind"):
            parse_kind("工作总结")


class TestBook:
    def test_adoption_sets_a_limit_in_working_days_and_the_margin(self) -> None:
        """Adopted on Monday morning: due Wednesday 24:00; it goes up by itself just before; reminded Tuesday."""
        b = book()
        b.apply_submit(submit_call("u1", "案例"), MONDAY)
        result = b.apply_decide(DecideItem(no=1, decision=Decision.ADOPT, by="op"), MONDAY)
        assert result.forward_due is not None
        local = result.forward_due.at.astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert (local.date(), local.hour, local.minute) == (dt.date(2026, 4, 1), 23, 59)
        moments = b.agenda()
        assert [m.what for m in moments] == ["remind", "forward"]
        assert moments[0].at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == dt.date(2026, 3, 31)
        assert moments[1].at == result.forward_due.at - FORWARD_MARGIN
        assert b.fire_due(moments[1].at - dt.timedelta(seconds=1)) == []
        assert [i.no for i in b.fire_due(moments[1].at)] == [1]

    def test_without_an_upper_office_adopted_is_settled(self) -> None:
        """Nothing goes up from the top office; forwarding is refused with a reason."""
        b = book(upper=None)
        b.apply_submit(submit_call("u1", "案例"), MONDAY)
        b.apply_decide(DecideItem(no=1, decision=Decision.ADOPT, by="op"), MONDAY)
        (item,) = b.state.items
        assert item.settled_at == MONDAY and item.forward_due is None
        with pytest.raises(Refused, match="no upper office"):
            b.check_forward(ForwardItem(no=1, by="op"))

    def test_statistics_count_by_month_of_first_submission(self) -> None:
        """A March item adopted in April counts in March; rates and kinds add up; other units show zero."""
        b = book()
        april = MONDAY + dt.timedelta(days=3)
        b.apply_submit(submit_call("u1", "一"), MONDAY)
        b.apply_submit(submit_call("u1", "二", kind=InfoKind.PRACTICE), MONDAY)
        b.apply_submit(submit_call("u2", "三"), april)
        b.apply_decide(DecideItem(no=1, decision=Decision.ADOPT, by="op"), april)
        b.apply_decide(DecideItem(no=2, decision=Decision.FILE, by="op"), april)
        b.apply_decide(DecideItem(no=3, decision=Decision.RETURN, note="补充", by="op"), april)
        march = statistics(b.spec, b.state, "2026-M03", april)
        rows = {r.unit_id: r for r in march.rows}
        assert (rows["u1"].sent, rows["u1"].adopted, rows["u1"].filed, rows["u1"].rate) == (2, 1, 1, 0.5)
        assert rows["u1"].by_kind[InfoKind.TYPICAL_CASE].adopted == 1
        assert rows["u1"].by_kind[InfoKind.PRACTICE].sent == 1
        assert rows["u2"].sent == 0 and rows["u2"].rate is None
        q2 = statistics(b.spec, b.state, "2026-Q2", april)
        assert q2.total.sent == 1 and q2.total.adopted == 0
        assert {r.unit_id: r.returned for r in q2.rows}["u2"] == 1
        year = statistics(b.spec, b.state, "2026-Y", april)
        assert (year.total.sent, year.total.adopted, year.total.filed) == (3, 1, 1)

    def test_a_resubmission_under_another_kind_moves_its_count(self) -> None:
        """Returned as a work update, resubmitted as a typical case and adopted: counted once, under the new kind."""
        b = book()
        b.apply_submit(submit_call("u1", "一", kind=InfoKind.WORK_UPDATE), MONDAY)
        b.apply_decide(DecideItem(no=1, decision=Decision.RETURN, note="改为案例", by="op"), MONDAY)
        b.apply_submit(submit_call("u1", "一（案例）", kind=InfoKind.TYPICAL_CASE, resubmit_of=1), MONDAY)
        b.apply_decide(DecideItem(no=1, decision=Decision.ADOPT, by="op"), MONDAY)
        (row,) = [r for r in statistics(b.spec, b.state, "2026-Q1", MONDAY).rows if r.unit_id == "u1"]
        assert (row.sent, row.adopted, row.returned) == (1, 1, 0)
        assert row.by_kind[InfoKind.WORK_UPDATE].sent == 0
        assert (row.by_kind[InfoKind.TYPICAL_CASE].sent, row.by_kind[InfoKind.TYPICAL_CASE].adopted) == (1, 1)

    def test_a_full_office_refuses_new_items_but_takes_resubmissions(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The open-item cap keeps the state bounded; a returned item can still come back."""
        from domain import submission_caps

        b = book()
        b.apply_submit(submit_call("u1", "一"), MONDAY)
        b.apply_decide(DecideItem(no=1, decision=Decision.RETURN, note="补充", by="op"), MONDAY)
        monkeypatch.setattr(submission_caps, "MAX_OPEN_ITEMS", 1)
        with pytest.raises(Refused, match="must review"):
            b.check_submit(submit_call("u2", "二"))
        b.check_submit(submit_call("u1", "一（修改）", resubmit_of=1))

    def test_checks_change_nothing(self) -> None:
        """A refused call leaves the state as it was, byte for byte."""
        b = book(rules=InfoPlan(kinds=[InfoKind.TYPICAL_CASE]))
        b.apply_submit(submit_call("u1", "一"), MONDAY)
        before = b.state.model_dump_json()
        for call in (
            submit_call("u9", "x"),
            submit_call("u1", "x", kind=InfoKind.PRACTICE),
            submit_call("u1", "x", resubmit_of=1),
        ):
            with pytest.raises(Refused):
                b.check_submit(call)
        with pytest.raises(Refused):
            b.check_decide(DecideItem(no=1, decision=Decision.RETURN, by="op"))
        assert b.state.model_dump_json() == before
        assert b.state.items[0].state is InfoState.PENDING


class TestPlanSection:
    def test_yaan_plan_runs_information_as_a_channel_not_a_monthly_deadline(self) -> None:
        """The notice's 及时 reports are the info section; no obligation invents a monthly cadence."""
        data = yaml.safe_load((ROOT / "examples" / "yaan-2017.yaml").read_text(encoding="utf-8"))
        plan, problems = check_plan(data, load_calendar([2026, 2027]), 2026)
        assert problems == [] and plan is not None and plan.info is not None
        assert all(ob.period.value != "monthly" for ob in plan.obligations)
        assert {ob.id for ob in plan.obligations} == {"half-year", "annual"}
        assert set(plan.info.kinds) == set(InfoKind)
        assert plan.info.forward_within == DueRule(kind=RuleKind.WORKING_DAYS, n=2)

    def test_problems_carry_their_field_paths(self) -> None:
        """Unknown units, repeated kinds and keys, a nonsense limit: each named by its path."""
        data = yaml.safe_load((ROOT / "examples" / "yaan-2017.yaml").read_text(encoding="utf-8"))
        data["info"]["units"] = ["yaan-gaj", "nobody"]
        data["info"]["kinds"] = ["typical_case", "typical_case"]
        data["info"]["forward_reminders"] = [LadderStep(key="a", offset=1).model_dump()] * 2
        _, problems = check_plan(data, load_calendar([2026, 2027]), 2026)
        paths = {p.path for p in problems}
        assert {"info.units[1]", "info.kinds", "info.forward_reminders"} <= paths
        data = yaml.safe_load((ROOT / "examples" / "yaan-2017.yaml").read_text(encoding="utf-8"))
        data["info"]["forward_within"] = {"kind": "working_days", "n": 0}
        data["info"]["quiet_days"] = 0
        data["info"]["kinds"] = ["summary"]
        _, problems = check_plan(data, load_calendar([2026, 2027]), 2026)
        assert {"info.forward_within", "info.quiet_days", "info.kinds[0]"} <= {p.path for p in problems}
