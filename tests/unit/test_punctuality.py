"""On-time statistics (domain/punctuality.py): what counts, for whom, in which year, at the edges."""

import datetime as dt

from domain import punctuality
from schemas.calendar import Due
from schemas.cycle import CycleStage, CycleStatus, Light, UnitPhase, UnitRow
from schemas.stats import CycleOutcomes, Outcome, StatsFilter, StatsInput, UnitOutcome

TZ = "Asia/Shanghai"
CST = dt.timezone(dt.timedelta(hours=8))


def due(y: int, m: int, d: int, h: int = 23, minute: int = 59) -> Due:
    return Due(at=dt.datetime(y, m, d, h, minute, 59 if h == 23 else 0, tzinfo=CST), rule="", tz=TZ)


def row(unit: str, phase: UnitPhase, deadline: Due, submitted: dt.datetime | None = None, **more: object) -> UnitRow:
    late = submitted is not None and submitted > deadline.at
    days = (submitted.astimezone(CST).date() - deadline.at.astimezone(CST).date()).days if late and submitted else 0
    fields: dict[str, object] = {
        "unit_id": unit,
        "unit_name": f"{unit}单位",
        "phase": phase,
        "light": Light.GREEN,
        "due": deadline,
        "overdue": False,
        "submitted_at": submitted,
        "days_late": days,
    }
    return UnitRow.model_validate(fields | more)


def status(cycle: str, period: str, rows: list[UnitRow], now: dt.datetime, **more: object) -> CycleStatus:
    fields: dict[str, object] = {
        "cycle_id": cycle,
        "campaign_id": "qingfeng",
        "office_id": "yaan",
        "period": period,
        "obligation": "summary",
        "stage": CycleStage.OPEN,
        "now": now,
        "unit_due": rows[0].due if rows else due(2026, 6, 13),
        "counts": {},
        "units": rows,
    }
    return CycleStatus.model_validate(fields | more)


def outcomes(
    cycle: str, year: int, *units: tuple[str, Outcome], campaign: str = "qingfeng", office: str = "yaan"
) -> CycleOutcomes:
    return CycleOutcomes(
        cycle_id=cycle,
        campaign_id=campaign,
        office_id=office,
        period=f"{year}-H1",
        year=year,
        obligation="summary",
        due_at=dt.datetime(year, 6, 13, tzinfo=dt.UTC),
        units=[
            UnitOutcome(unit_id=u, unit_name=f"{u}单位", outcome=o, days_late=2 if o is Outcome.LATE else 0)
            for u, o in units
        ],
    )


class TestOneUnitsOutcome:
    def test_on_time_late_and_missed(self) -> None:
        """Submitted by the deadline is on time; after it late with its days; overdue without a report missed."""
        d = due(2026, 6, 12)
        on_time = punctuality.unit_outcome(row("a", UnitPhase.SUBMITTED, d, d.at - dt.timedelta(hours=3)))
        late = punctuality.unit_outcome(row("b", UnitPhase.SUBMITTED, d, d.at + dt.timedelta(days=2)))
        missed = punctuality.unit_outcome(row("c", UnitPhase.PENDING, d, overdue=True, light=Light.RED, days_late=5))
        pending = punctuality.unit_outcome(row("d", UnitPhase.PENDING, d, light=Light.BLUE))
        assert [o.outcome for o in (on_time, late, missed, pending)] == [
            Outcome.ON_TIME,
            Outcome.LATE,
            Outcome.MISSED,
            Outcome.OPEN,
        ]
        assert (late.days_late, missed.days_late, on_time.days_late) == (2, 0, 0)

    def test_late_on_the_due_day_after_close_of_business(self) -> None:
        """Due at 17:30, in at 18:00 the same day: late, by 0 calendar days (not counted as on time)."""
        d = due(2026, 6, 12, 17, 30)
        one = punctuality.unit_outcome(row("a", UnitPhase.SUBMITTED, d, d.at + dt.timedelta(minutes=30)))
        assert (one.outcome, one.days_late) == (Outcome.LATE, 0)

    def test_waived_and_returned(self) -> None:
        """Waived is waived; a returned unit owing its revision past the new deadline is missed, and its
        returns and every version it sent are kept."""
        d = due(2026, 6, 12)
        waived = punctuality.unit_outcome(row("a", UnitPhase.WAIVED, d, light=Light.GREY))
        returned = punctuality.unit_outcome(
            row("b", UnitPhase.RETURNED, d, overdue=True, light=Light.RED, returns=1, submissions=1)
        )
        assert waived.outcome is Outcome.WAIVED
        assert (returned.outcome, returned.returns, returned.submissions) == (Outcome.MISSED, 1, 1)


class TestYears:
    def test_period_year_not_the_deadline_year(self) -> None:
        """The 2026 annual summary due on 2027-01-10 counts for 2026; a label without a year uses the due day."""
        assert punctuality.period_year("2026-Y", dt.datetime(2027, 1, 10, tzinfo=CST), TZ) == 2026
        assert punctuality.period_year("2026-M12", dt.datetime(2027, 1, 5, tzinfo=CST), TZ) == 2026
        # 2026-12-31 16:30 UTC is already 2027-01-01 in Shanghai.
        assert punctuality.period_year("adhoc", dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC), TZ) == 2027

    def test_cycle_spanning_the_year_boundary(self) -> None:
        """A 2026-Y cycle reported in January 2027 is in 2026's tally, not 2027's."""
        d = due(2027, 1, 10)
        s = status("c26", "2026-Y", [row("a", UnitPhase.SUBMITTED, d, d.at - dt.timedelta(days=1))], d.at)
        report = punctuality.compute(StatsInput(cycles=[punctuality.cycle_outcomes(s)]))
        assert report.years == [2026]
        assert set(report.units[0].by_year) == {2026}
        only_2027 = punctuality.compute(
            StatsInput(cycles=[punctuality.cycle_outcomes(s)], filter=StatsFilter(year=2027))
        )
        assert only_2027.cycles == 0 and only_2027.units == []


class TestCompute:
    def test_no_cycles(self) -> None:
        """Nothing to count: an empty report, no rate, no error."""
        report = punctuality.compute(StatsInput())
        assert (report.cycles, report.units, report.offices, report.years) == (0, [], [], [])

    def test_rate_across_years_and_campaigns(self) -> None:
        """Per unit: one tally per year, per campaign and in all; the rate is on time over what was due."""
        cycles = [
            outcomes("h1-2025", 2025, ("a", Outcome.ON_TIME), ("b", Outcome.LATE)),
            outcomes("h2-2025", 2025, ("a", Outcome.LATE), ("b", Outcome.MISSED)),
            outcomes("h1-2026", 2026, ("a", Outcome.ON_TIME), ("b", Outcome.ON_TIME), campaign="jianguan"),
        ]
        report = punctuality.compute(StatsInput(cycles=cycles))
        a = next(u for u in report.units if u.id == "a")
        assert (a.total.on_time, a.total.late, a.total.counted, a.total.rate) == (2, 1, 3, round(2 / 3, 4))
        assert a.by_year[2025].rate == 0.5 and a.by_year[2026].rate == 1.0
        assert a.by_campaign["qingfeng"].rate == 0.5 and a.by_campaign["jianguan"].rate == 1.0
        assert (a.total.days_late, a.total.max_days_late) == (2, 2)
        b = next(u for u in report.units if u.id == "b")
        assert (b.total.missed, b.total.rate) == (1, round(1 / 3, 4))
        assert [u.id for u in report.units] == ["a", "b"]  # best rate first
        office = report.offices[0]
        assert (office.id, office.total.counted, office.total.on_time) == ("yaan", 6, 3)
        assert report.years == [2025, 2026] and report.campaigns == ["jianguan", "qingfeng"]

    def test_a_unit_that_joined_mid_year(self) -> None:
        """A unit in only the second half-year is judged on that cycle, not marked missing for the first."""
        cycles = [
            outcomes("h1", 2026, ("a", Outcome.ON_TIME)),
            outcomes("h2", 2026, ("a", Outcome.ON_TIME), ("new", Outcome.ON_TIME)),
        ]
        report = punctuality.compute(StatsInput(cycles=cycles))
        new = next(u for u in report.units if u.id == "new")
        assert (new.total.cycles, new.total.counted, new.total.rate) == (1, 1, 1.0)

    def test_waived_withdrawn_and_open_are_shown_not_counted(self) -> None:
        """免报, withdrawn and not-yet-due obligations are in the tally but not in the rate."""
        cycles = [
            outcomes("h1", 2026, ("a", Outcome.WAIVED), ("b", Outcome.WITHDRAWN)),
            outcomes("h2", 2026, ("a", Outcome.LATE), ("b", Outcome.OPEN)),
        ]
        report = punctuality.compute(StatsInput(cycles=cycles))
        a = next(u for u in report.units if u.id == "a")
        b = next(u for u in report.units if u.id == "b")
        assert (a.total.waived, a.total.counted, a.total.rate) == (1, 1, 0.0)
        assert (b.total.withdrawn, b.total.open, b.total.counted, b.total.rate) == (1, 1, 0, None)
        assert report.units[-1].id == "b"  # nothing counted: last

    def test_filters_by_campaign_year_and_office(self) -> None:
        """Each filter keeps only its cycles; the same unit id in two offices is two units."""
        cycles = [
            outcomes("q", 2026, ("gaj", Outcome.ON_TIME)),
            outcomes("j", 2026, ("gaj", Outcome.LATE), campaign="jianguan"),
            outcomes("county", 2026, ("gaj", Outcome.MISSED), office="yucheng"),
        ]
        both = punctuality.compute(StatsInput(cycles=cycles))
        assert sorted((u.office_id, u.id) for u in both.units) == [("yaan", "gaj"), ("yucheng", "gaj")]
        assert both.office_ids == ["yaan", "yucheng"]
        one = punctuality.compute(StatsInput(cycles=cycles, filter=StatsFilter(campaign="jianguan")))
        assert [c.cycle_id for c in one.rows] == ["j"] and one.units[0].total.late == 1
        county = punctuality.compute(StatsInput(cycles=cycles, filter=StatsFilter(office="yucheng")))
        assert [(u.office_id, u.total.missed) for u in county.units] == [("yucheng", 1)]

    def test_the_offices_own_upward_report(self) -> None:
        """The office's roll-up forwarded after its upward deadline is late, beside (not inside) its units."""
        d = due(2026, 6, 13)
        up = due(2026, 6, 15)
        rows = [row("a", UnitPhase.SUBMITTED, d, d.at - dt.timedelta(days=1))]
        late = status("c1", "2026-H1", rows, up.at, upward_due=up, forwarded_at=up.at + dt.timedelta(days=1))
        missing = status("c2", "2026-H2", rows, up.at + dt.timedelta(days=3), upward_due=up)
        report = punctuality.compute(
            StatsInput(cycles=[punctuality.cycle_outcomes(late), punctuality.cycle_outcomes(missing)])
        )
        office = report.offices[0]
        assert (office.upward.late, office.upward.missed, office.upward.days_late) == (1, 1, 1)
        assert (office.total.on_time, office.total.counted) == (2, 2)
        assert office.upward_by_year[2026].counted == 2

    def test_from_a_board_row(self) -> None:
        """A cycle's board becomes outcomes: returns and every version received travel with it."""
        d = due(2026, 6, 12)
        s = status(
            "c",
            "2026-H1",
            [row("a", UnitPhase.SUBMITTED, d, d.at + dt.timedelta(days=3), returns=2, submissions=3)],
            d.at + dt.timedelta(days=5),
        )
        report = punctuality.compute(StatsInput(cycles=[punctuality.cycle_outcomes(s)]))
        t = report.units[0].total
        assert (t.late, t.days_late, t.returns, t.submissions) == (1, 3, 2, 3)
        assert report.units[0].model_dump(mode="json")["total"]["rate"] == 0.0
