"""From a campaign plan to a cycle's input: which periods exist and what a cycle of one holds.

Pure code shared by `duban campaign start`, the plan preview and the
scheduled opening of a cycle inside the workflow.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from schemas.calendar import HolidayCalendar
from schemas.cycle import CycleSpec, CycleTemplate, CycleUnit
from schemas.notify import DocumentRef
from schemas.plan import CampaignPlan, Obligation, Period


def template_for(plan: CampaignPlan, obligation: Obligation) -> CycleTemplate:
    """The part of a plan one obligation's cycles need; a Schedule carries this as its input."""
    wanted = obligation.units if obligation.units is not None else [u.id for u in plan.units]
    units = [
        CycleUnit(id=u.id, name=u.name, contacts=u.contacts, leader=u.leader, work_areas=plan.work_areas_of(u.id))
        for u in plan.units
        if u.id in wanted
    ]
    return CycleTemplate(
        campaign_id=plan.id,
        campaign_title=plan.title,
        office=plan.office,
        upper_office=plan.upper_office,
        obligation=obligation,
        document=DocumentRef(
            number=plan.document.number,
            title=plan.document.title,
            office_name=plan.office.name,
            upstream_number=plan.document.upstream_number,
        ),
        contact=plan.contact,
        leadership=plan.leadership,
        units=units,
        tz=plan.timezone,
        locale=plan.locale,
    )


def period_of(obligation: Obligation, moment: dt.datetime, tz: str) -> tuple[str, int]:
    """The period label a moment falls in (in the office's zone): 2026-H1, 2026-Y, 2026-M03."""
    local = moment.astimezone(ZoneInfo(tz))
    year = local.year
    if obligation.period is Period.HALF_YEAR:
        return (f"{year}-H1" if local.month <= 6 else f"{year}-H2"), year
    if obligation.period is Period.ANNUAL:
        return f"{year}-Y", year
    if obligation.period is Period.MONTHLY:
        return f"{year}-M{local.month:02d}", year
    return f"{year}-{local:%m%d}T{local:%H%M}", year


def build_spec(
    template: CycleTemplate, period: str, year: int, opened_at: dt.datetime, calendar: HolidayCalendar, cycle_id: str
) -> CycleSpec:
    fields = {name: getattr(template, name) for name in CycleTemplate.model_fields}
    return CycleSpec(
        **fields, cycle_id=cycle_id, period=period, period_year=year, opened_at=opened_at, calendar=calendar
    )


def calendar_years(year: int) -> list[int]:
    """Holiday data a cycle of `year` may consult: its year and the next (escalations run into January)."""
    return [year, year + 1]


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(x) for x in text.split("-"))
    return month, day


def opening_months(obligation: Obligation) -> list[int]:
    """The months in which a periodic obligation opens a cycle (empty for `once`)."""
    month, _ = _month_day(obligation.opens)
    if obligation.period is Period.HALF_YEAR:
        return [month + 6 * (h - 1) for h in sorted(obligation.halves) if month + 6 * (h - 1) <= 12]
    if obligation.period is Period.ANNUAL:
        return [month]
    if obligation.period is Period.MONTHLY:
        return list(range(1, 13))
    return []


OPENING_HOUR = 9  # cycles open at the start of the office's working morning


def openings(obligation: Obligation, year: int, tz: str) -> list[tuple[str, dt.datetime]]:
    """Every cycle a periodic obligation opens in `year`: (period label, opening moment in UTC)."""
    _, day = _month_day(obligation.opens)
    out = []
    for month in opening_months(obligation):
        local = dt.datetime(year, month, min(day, 28 if month == 2 else day), OPENING_HOUR, tzinfo=ZoneInfo(tz))
        label, _ = period_of(obligation, local, tz)
        out.append((label, local.astimezone(dt.UTC)))
    return out
