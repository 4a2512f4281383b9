"""Statistics across campaigns and years, gathered for the console's page, its Excel export and `duban stats`.

Every cycle visibility lists (running or finished) and every cycle the archive holds
(closed ones Temporal's retention has dropped) is read once, reduced to what it came to
(domain/punctuality.py) and counted; nothing disappears with Temporal's retention.
"""

from dataclasses import dataclass

from temporalio.client import Client

from activities.archive import Archive
from console import client_calls as calls
from domain import punctuality
from schemas.stats import StatsFilter, StatsInput, StatsReport

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_ID = 200


def check_filter(campaign: str = "", year: str | int | None = None, office: str = "") -> StatsFilter:
    """The filter from a form or the command line; Rejected (nothing read) when a value is not usable."""
    if year in (None, ""):
        number = None
    else:
        try:
            number = int(year)
        except ValueError:
            raise calls.Rejected(f"year {year!r} is not a year (e.g. 2026)") from None
        if not MIN_YEAR <= number <= MAX_YEAR:
            raise calls.Rejected(f"year {number} is out of range ({MIN_YEAR}–{MAX_YEAR})")
    for name, value in (("campaign", campaign), ("office", office)):
        if len(value) > MAX_ID or not value.isprintable():
            raise calls.Rejected(f"{name} {value[:MAX_ID]!r} is not an id")
    return StatsFilter(campaign=campaign.strip(), year=number, office=office.strip())


@dataclass(frozen=True)
class Choices:
    """What the page's filters offer: every campaign, office and year there are cycles of."""

    campaigns: list[str]
    offices: list[str]
    years: list[int]


async def collect(client: Client, wanted: StatsFilter, archive: Archive | None) -> tuple[StatsReport, Choices]:
    """The report for `wanted`, and the filters' choices. Every cycle is listed (visibility and the archive's
    columns: cheap); only those the filter keeps are read."""
    refs = await calls.list_cycles(client, archive=archive)
    years = {punctuality.year_of_label(r.period) for r in refs}
    choices = Choices(
        campaigns=sorted({r.campaign_id for r in refs}),
        offices=sorted({r.office_id for r in refs}),
        years=sorted(y for y in years if y is not None),
    )
    kept = [
        r
        for r in refs
        if (not wanted.campaign or r.campaign_id == wanted.campaign)
        and (not wanted.office or r.office_id == wanted.office)
        and (wanted.year is None or punctuality.year_of_label(r.period) in (None, wanted.year))
    ]
    statuses = await calls.statuses(client, kept, archive)
    cycles = [punctuality.cycle_outcomes(s) for s in statuses]
    return punctuality.compute(StatsInput(cycles=cycles, filter=wanted)), choices
