"""`duban campaign start FILE`: keep the plan, open the cycles that are due now, schedule the rest.

A periodic obligation becomes a Temporal Schedule in the office's time zone
that opens each cycle on its day; a cycle whose period is already open is
started at once. Starting a campaign again replaces its schedules and leaves
running cycles alone.
"""

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.holidays import load_calendar
from activities.records import Records
from console import client_calls as calls
from console.campaign_store import CampaignStore
from console.output import console, emit_json, failure
from console.plan_files import load_checked
from domain import cycle_spec, info_book, timeline
from schemas.cycle import CYCLE_TASK_TIMEOUT, CycleInput, cycle_workflow_id
from schemas.info import InfoInput
from schemas.plan import CampaignPlan, Obligation, Period
from schemas.visibility import CAMPAIGN, OFFICE
from workers.settings import Settings, load_settings

app = typer.Typer(help="Campaigns: start one from its plan, amend its running cycles.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]


def schedule_id(plan: CampaignPlan, ob: Obligation) -> str:
    return f"schedule:{plan.id}:{plan.office.id}:{ob.id}"


def schedule_spec(ob: Obligation, tz: str) -> ScheduleSpec:
    _, day = (int(x) for x in ob.opens.split("-"))
    months = [ScheduleRange(m) for m in cycle_spec.opening_months(ob)]
    calendar = ScheduleCalendarSpec(
        month=months,
        day_of_month=[ScheduleRange(day)],
        hour=[ScheduleRange(cycle_spec.OPENING_HOUR)],
        comment=f"{ob.title}: opens on {ob.opens}",
    )
    return ScheduleSpec(calendars=[calendar], time_zone_name=tz)


def _current_cycle(
    plan: CampaignPlan, ob: Obligation, now: dt.datetime, calendars: Path | None
) -> tuple[str, int, dt.datetime] | None:
    """The period of `ob` open right now (opened and not yet past its unit deadline), if any."""
    if ob.period is Period.ONCE:
        period, year = cycle_spec.period_of(ob, now, plan.timezone)
        return period, year, now
    for year in (now.year - 1, now.year):
        for period, opened in cycle_spec.openings(ob, year, plan.timezone):
            if opened > now:
                continue
            calendar = load_calendar(cycle_spec.calendar_years(year), plan.timezone, calendars)
            probe = cycle_spec.build_spec(cycle_spec.template_for(plan, ob), period, year, opened, calendar, "probe")
            if timeline.unit_due(probe).at > now:
                return period, year, opened
    return None


async def start_campaign(client: Client, settings: Settings, plan: CampaignPlan, now: dt.datetime) -> dict[str, Any]:
    records = Records(settings.records_url_value())
    try:
        await CampaignStore(records).save(plan)
    finally:
        await records.dispose()
    queue = settings.temporal.task_queue
    attrs = TypedSearchAttributes([SearchAttributePair(CAMPAIGN, plan.id), SearchAttributePair(OFFICE, plan.office.id)])
    cycles: list[dict[str, str]] = []
    schedules: list[str] = []
    for ob in plan.obligations:
        template = cycle_spec.template_for(plan, ob)
        current = _current_cycle(plan, ob, now, settings.calendars_dir)
        if current is not None:
            period, year, opened = current
            cycle_id = cycle_workflow_id(plan.id, plan.office.id, ob.id, period)
            calendar = load_calendar(cycle_spec.calendar_years(year), plan.timezone, settings.calendars_dir)
            spec = cycle_spec.build_spec(template, period, year, opened, calendar, cycle_id)
            try:
                await client.start_workflow(
                    "ReportingCycle",
                    CycleInput(spec=spec),
                    id=cycle_id,
                    task_queue=queue,
                    search_attributes=attrs,
                    static_summary=f"{plan.title} · {ob.title} · {period}",
                    task_timeout=CYCLE_TASK_TIMEOUT,
                )
                state = "started"
            except WorkflowAlreadyStartedError:
                state = "already running"
            cycles.append({"cycle_id": cycle_id, "obligation": ob.id, "period": period, "state": state})
        if ob.period is Period.ONCE:
            continue
        sid = schedule_id(plan, ob)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                "ReportingCycle",
                CycleInput(template=template),
                id=f"cycle:{plan.id}:{plan.office.id}:{ob.id}",
                task_queue=queue,
                typed_search_attributes=attrs,
                task_timeout=CYCLE_TASK_TIMEOUT,
            ),
            spec=schedule_spec(ob, plan.timezone),
        )
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(sid).update(replace)
        schedules.append(sid)
    channels = [await start_info_channel(client, settings, plan, now)] if plan.info is not None else []
    return {
        "campaign": plan.id,
        "office": plan.office.id,
        "cycles": cycles,
        "schedules": schedules,
        "channels": channels,
    }


async def start_info_channel(
    client: Client, settings: Settings, plan: CampaignPlan, now: dt.datetime
) -> dict[str, str]:
    """The office's standing information channel (及时报送), open for the whole campaign."""
    calendar = load_calendar(cycle_spec.calendar_years(now.year), plan.timezone)
    spec = info_book.channel_spec(plan, now, calendar)
    attrs = TypedSearchAttributes([SearchAttributePair(CAMPAIGN, plan.id), SearchAttributePair(OFFICE, plan.office.id)])
    try:
        await client.start_workflow(
            "InfoChannel",
            InfoInput(spec=spec),
            id=spec.channel_id,
            task_queue=settings.temporal.task_queue,
            search_attributes=attrs,
            static_summary=f"{plan.title} · {spec.title}",
        )
        state = "started"
    except WorkflowAlreadyStartedError:
        state = "already running"
    return {"channel_id": spec.channel_id, "state": state}


@app.command("start")
def start(file: Path, json: JsonFlag = False) -> None:
    """Load a plan, open the cycles whose period is open now, and schedule the rest.

    Example: duban campaign start examples/demo.yaml
    """
    settings = load_settings()
    now = dt.datetime.now(dt.UTC)
    plan = load_checked(file, now.date())

    async def run() -> dict[str, Any]:
        client = await calls.connect(settings)
        return await start_campaign(client, settings, plan, now)

    try:
        result = asyncio.run(run())
    except RuntimeError as exc:  # connection refused and friends: the stack is not up
        failure(f"cannot reach Temporal at {settings.temporal.address}: {exc} (is `duban dev` running?)")
    if json:
        emit_json(result)
        return
    console.print(f"[bold]{plan.title}[/bold] ({plan.id}) — {plan.office.name}")
    for c in result["cycles"]:
        console.print(f"  cycle {c['cycle_id']}: {c['state']}")
    for s in result["schedules"]:
        console.print(f"  schedule {s}")
    for ch in result["channels"]:
        console.print(f"  information channel {ch['channel_id']}: {ch['state']}")
    if not result["cycles"] and not result["schedules"] and not result["channels"]:
        console.print("  nothing to start: no obligation has an open period and none is periodic")
