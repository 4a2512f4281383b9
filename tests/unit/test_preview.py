"""The plan preview: the year's agenda of a plan, on the real 2026 calendar (2027 provisional)."""

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from activities.holidays import load_calendar
from console.preview_cmd import register_preview
from domain import timeline
from domain.preview import cycle_preview, opening_state, year_preview, year_specs
from schemas.calendar import DueRule, HolidayCalendar, RuleKind
from schemas.plan import DueSpec, Period
from tests.plans import ladder_obligation, plan

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return load_calendar([2026, 2027])


def annual() -> object:
    """The notice's annual summary: units by Dec 13, the city by Dec 15, opened a month before."""
    return ladder_obligation(
        id="annual",
        period=Period.ANNUAL,
        opens="11-13",
        unit_due=DueSpec(day="12-13"),
        upward_due=DueSpec(day="12-15"),
    )


def local(at: dt.datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


class TestAnnualSummary:
    def test_sunday_deadline_rolls_to_monday_and_says_so(self, cal: HolidayCalendar) -> None:
        """Dec 13 2026 is a Sunday: every unit's due row is Monday Dec 14 24:00, with the roll explained."""
        pv = year_preview(plan(2, annual()), 2026, cal, NOW)  # type: ignore[arg-type]
        dues = [r for r in pv.rows if r.kind == "due"]
        assert [r.unit_id for r in dues] == ["u1", "u2"]
        for r in dues:
            assert r.local == "2026-12-14 23:59" and r.weekday == "Monday" and r.weekday_zh == "星期一"
            assert "Sunday" in r.rule and "rolled to Monday" in r.rule
            assert "顺延" in r.rule_zh and not r.provisional

    def test_every_kind_of_moment_is_listed_with_its_count(self, cal: HolidayCalendar) -> None:
        """Notice, reminders, due, escalations per unit; the office reminder, forward and close once."""
        pv = year_preview(plan(2, annual()), 2026, cal, NOW)  # type: ignore[arg-type]
        u1 = [(r.local, r.step) for r in pv.rows if r.unit_id == "u1"]
        assert u1 == [
            ("2026-11-13 09:00", "notice"),
            ("2026-12-10 09:00", "remind:2wd"),  # Thursday, two working days before Monday 14th
            ("2026-12-14 09:00", "remind:day"),
            ("2026-12-14 23:59", "due"),
            ("2026-12-15 09:00", "escalate:leader"),
            ("2026-12-17 09:00", "escalate:leadership"),
            ("2026-12-21 09:00", "escalate:bulletin"),
        ]
        office = [(r.local, r.step) for r in pv.rows if not r.unit_id]
        assert office == [
            ("2026-12-15 09:00", "office_remind:office-day"),
            ("2026-12-15 09:00", "forward"),
            ("2027-01-14 23:59", "close"),
        ]
        reminder = next(r for r in pv.rows if r.step == "remind:2wd")
        assert "2 working days before" in reminder.rule and "前2个工作日" in reminder.rule_zh

    def test_weekdays_match_the_local_dates(self, cal: HolidayCalendar) -> None:
        pv = year_preview(plan(3, annual()), 2026, cal, NOW)  # type: ignore[arg-type]
        for r in pv.rows:
            day = r.at.astimezone(SHANGHAI).date()
            assert r.local.startswith(day.isoformat())
            assert r.weekday == day.strftime("%A")
            assert r.weekday_zh == "星期" + "一二三四五六日"[day.weekday()]

    def test_unit_filter(self, cal: HolidayCalendar) -> None:
        """--unit keeps that unit's rows only; an unknown unit is an error, not an empty preview."""
        p = plan(3, annual())  # type: ignore[arg-type]
        pv = year_preview(p, 2026, cal, NOW, unit="u2")
        assert pv.rows and {r.unit_id for r in pv.rows} == {"u2"} and pv.unit == "u2"
        with pytest.raises(ValueError, match="nobody"):
            year_preview(p, 2026, cal, NOW, unit="nobody")


class TestPeriods:
    def test_half_year_opens_twice_with_the_second_half_deadline(self, cal: HolidayCalendar) -> None:
        ob = ladder_obligation(
            period=Period.HALF_YEAR,
            opens="05-13",
            unit_due=DueSpec(day="06-13"),
            unit_due_h2=DueSpec(day="12-13"),
        )
        specs = year_specs(plan(1, ob), 2026, cal, NOW)
        assert [(s.period, local(s.opened_at)) for s in specs] == [
            ("2026-H1", "2026-05-13 09:00"),
            ("2026-H2", "2026-11-13 09:00"),
        ]
        dues = [r.local for r in year_preview(plan(1, ob), 2026, cal, NOW).rows if r.kind == "due"]
        assert dues == ["2026-06-15 23:59", "2026-12-14 23:59"]  # Jun 13 is a Saturday, Dec 13 a Sunday

    def test_monthly_opens_every_month_and_december_is_provisional(self, cal: HolidayCalendar) -> None:
        """A December cycle runs into 2027, whose holiday arrangement is not out: marked provisional."""
        ob = ladder_obligation(
            period=Period.MONTHLY, opens="01-01", unit_due=DueSpec(after=DueRule(kind=RuleKind.MONTHS, n=1))
        )
        pv = year_preview(plan(1, ob), 2026, cal, NOW)
        assert sorted({r.period for r in pv.rows}) == [f"2026-M{m:02d}" for m in range(1, 13)]
        assert pv.provisional_years == [2027]
        december = [r for r in pv.rows if r.period == "2026-M12" and r.kind == "due"]
        assert december[0].local == "2027-01-04 23:59" and december[0].provisional
        assert "暂按法定节假日推算" in december[0].rule_zh
        october = next(r for r in pv.rows if r.period == "2026-M09" and r.kind == "due")
        assert october.local == "2026-10-08 23:59" and not october.provisional  # past the National Day week

    def test_once_opens_now_in_this_year_only(self, cal: HolidayCalendar) -> None:
        p = plan(1)
        this_year = year_preview(p, 2026, cal, NOW)
        assert this_year.rows[0].kind == "notice" and this_year.rows[0].at == NOW
        assert year_preview(p, 2027, load_calendar([2027, 2028]), NOW).rows == []


class TestSameCodeAsTheWorkflow:
    def test_rows_are_the_opening_agenda(self, cal: HolidayCalendar) -> None:
        """Apart from the notice, the preview is exactly what `pending_items` hands the workflow at opening."""
        (spec,) = year_specs(plan(3, annual()), 2026, cal, NOW)  # type: ignore[arg-type]
        expected = {(i.at, i.unit_id or "", i.step) for i in timeline.pending_items(spec, opening_state(spec))}
        got = {(r.at, r.unit_id, r.step) for r in cycle_preview(spec) if r.kind != "notice"}
        assert got == expected


class TestCommand:
    """`duban plan preview` through Typer (the command as `plan_cmd` registers it)."""

    @staticmethod
    def app() -> typer.Typer:
        app = typer.Typer()

        @app.command("check")
        def check() -> None:  # a second command, so Typer keeps `preview` as a sub-command
            pass

        register_preview(app)
        return app

    def test_json_and_xlsx(self, tmp_path: Path) -> None:
        """The Ya'an plan's 2026 for one unit: JSON rows and an Excel sheet with the same rows."""
        out = tmp_path / "agenda.xlsx"
        args = ["preview", str(EXAMPLES / "yaan-2017.yaml"), "--year", "2026", "--unit", "yaan-gaj"]
        result = CliRunner().invoke(self.app(), [*args, "--json", "--xlsx", str(out)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["year"] == 2026 and data["rows"] and {r["unit_id"] for r in data["rows"]} == {"yaan-gaj"}
        annual_due = [r for r in data["rows"] if r["period"] == "2026-Y" and r["kind"] == "due"]
        # The plan rolls a unit deadline on a rest day back: Sunday Dec 13 → Friday Dec 11.
        assert annual_due[0]["local"] == "2026-12-11 23:59" and annual_due[0]["weekday_zh"] == "星期五"
        sheet = load_workbook(out).active
        assert sheet.max_row == len(data["rows"]) + 1
        assert sheet.cell(row=1, column=10).value == "计算依据"

    def test_bad_input_exits_2_and_writes_nothing(self, tmp_path: Path) -> None:
        out = tmp_path / "agenda.xlsx"
        app = self.app()
        unknown = CliRunner().invoke(
            app, ["preview", str(EXAMPLES / "yaan-2017.yaml"), "--unit", "nobody", "--xlsx", str(out)]
        )
        assert unknown.exit_code == 2 and "nobody" in unknown.output
        broken = tmp_path / "broken.yaml"
        broken.write_text("id: x\ntitle: t\n", encoding="utf-8")
        assert CliRunner().invoke(app, ["preview", str(broken)]).exit_code == 2
        assert not out.exists()
