"""Properties of the legal-time code over many dates and rules (hypothesis)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.holidays import load_calendar
from domain.legaltime.days import add_working_days, day_info, is_working_day
from domain.legaltime.ladder import escalation_moments, reminder_moments
from domain.legaltime.periods import compute_due
from schemas.calendar import DueRule, LadderStep, Roll, RuleKind, SendWindow, StepUnit

# Published years plus provisional 2027-2028: properties must hold on both kinds of data.
CAL = load_calendar(range(2015, 2029))
TZ = ZoneInfo(CAL.tz)
WINDOW = SendWindow()

dates = st.dates(min_value=date(2016, 1, 1), max_value=date(2027, 10, 31))
counts = st.integers(min_value=1, max_value=40)
day_rules = st.builds(
    DueRule,
    kind=st.sampled_from([RuleKind.DAYS, RuleKind.WORKING_DAYS, RuleKind.MONTHS, RuleKind.FIXED]),
    n=st.integers(min_value=1, max_value=14),
    roll=st.sampled_from([Roll.NEXT, Roll.PREVIOUS]),
    close=st.sampled_from([None, time(17, 30)]),
)
steps = st.lists(
    st.builds(
        LadderStep,
        key=st.sampled_from(["a", "b", "c", "d", "e"]),
        offset=st.integers(min_value=0, max_value=10),
        unit=st.sampled_from(list(StepUnit)),
        urgent=st.booleans(),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda s: s.key,
)
due_moments = st.builds(
    lambda d, minutes: datetime.combine(d, time(0), TZ) + timedelta(minutes=minutes),
    st.dates(min_value=date(2016, 1, 1), max_value=date(2027, 10, 31)),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)


@given(dates, st.integers(min_value=0, max_value=60))
def test_one_more_working_day_is_later(d: date, n: int) -> None:
    """N+1 working days always ends strictly after N working days."""
    assert add_working_days(d, n + 1, CAL) > add_working_days(d, n, CAL)


@given(dates, counts)
def test_working_day_count_lands_on_a_working_day_and_back(d: date, n: int) -> None:
    """Counting n working days lands on a working day; counting back from a working day returns to it."""
    end = add_working_days(d, n, CAL)
    assert is_working_day(end, CAL)
    if is_working_day(d, CAL):
        assert add_working_days(end, -n, CAL) == d


@given(dates, day_rules)
def test_day_rule_never_ends_on_a_rest_day(start: date, rule: DueRule) -> None:
    """With a roll, a due date from a day rule is a working day, after the start unless fixed."""
    due = compute_due(start, rule, CAL)
    local = due.at.astimezone(TZ)
    assert day_info(local.date(), CAL).working
    assert local.time() == (rule.close or time(23, 59, 59))
    if rule.kind is not RuleKind.FIXED and rule.roll is Roll.NEXT:
        assert local.date() > start


@given(dates, st.integers(min_value=1, max_value=60))
def test_more_days_never_due_earlier(start: date, n: int) -> None:
    """Calendar-day periods are monotonic in n (rolling never overtakes a longer period)."""
    shorter = compute_due(start, DueRule(kind=RuleKind.DAYS, n=n), CAL)
    longer = compute_due(start, DueRule(kind=RuleKind.DAYS, n=n + 1), CAL)
    assert longer.at >= shorter.at


@given(st.dates(min_value=date(2016, 1, 1), max_value=date(2026, 11, 30)), counts)
def test_published_years_are_not_provisional(start: date, n: int) -> None:
    """Only provisional years make a result provisional."""
    due = compute_due(start, DueRule(kind=RuleKind.WORKING_DAYS, n=n), CAL)
    assert due.provisional == (due.at.astimezone(TZ).year >= 2027)


@settings(max_examples=200)
@given(due_moments, steps)
def test_reminders_never_after_due_and_inside_the_window(due: datetime, ladder: list[LadderStep]) -> None:
    """Every reminder is at or before due; every non-urgent one is in the window on a working day."""
    moments = reminder_moments(due, ladder, CAL, WINDOW)
    assert [m.at for m in moments] == sorted(m.at for m in moments)
    urgent = {s.key for s in ladder if s.urgent}
    for m in moments:
        assert m.at <= due
        local = m.at.astimezone(TZ)
        if m.key not in urgent:
            assert is_working_day(local.date(), CAL), m.rule
            assert WINDOW.start <= local.time() <= WINDOW.end, m.rule


@settings(max_examples=200)
@given(due_moments, steps)
def test_escalations_never_before_due_and_inside_the_window(due: datetime, ladder: list[LadderStep]) -> None:
    """Every escalation is at or after due; every non-urgent one is in the window on a working day."""
    urgent = {s.key for s in ladder if s.urgent}
    for m in escalation_moments(due, ladder, CAL, WINDOW):
        assert m.at >= due
        local = m.at.astimezone(TZ)
        if m.key not in urgent:
            assert is_working_day(local.date(), CAL), m.rule
            assert WINDOW.start <= local.time() <= WINDOW.end, m.rule
