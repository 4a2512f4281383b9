"""The daily holiday check's activity and its Schedule (see workflows/holiday_check.py).

Every running cycle and lead is asked for its deadlines; those counted on a
provisional year (the State Council had not published that year's 放假调休安排)
whose year now has data — a new `calendars/<year>.toml`, or a chinesecalendar
that covers it — get the year's data through their own `update_calendar` Update,
the same one `duban recompute` sends a cycle. Each workflow then moves what the
new data moves and mails each affected party once; a workflow with nothing
provisional, or whose years are still provisional, is left alone. Running the
check again changes nothing: the deadlines are no longer provisional.
"""

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.holidays import cycle_years, load_calendar, published
from schemas.activities import HolidayCheckActivity
from schemas.calendar import DEFAULT_TZ
from schemas.cycle import CycleStage, NewCalendar
from schemas.holiday_check import HOLIDAY_CHECK_SCHEDULE, HOLIDAY_CHECK_WORKFLOW, HolidayCheckInput, HolidayCheckResult
from schemas.lead import LeadStatusQuery
from schemas.visibility import CAMPAIGN
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

RUNNING = "ExecutionStatus = 'Running' AND (WorkflowType = 'ReportingCycle' OR WorkflowType = 'LeadReferral')"
# After the State Council's notice is released into calendars/ (a deploy), the next morning's check moves
# the deadlines; 06:00 Beijing time is before any office's send window opens.
CHECK_HOUR = 6
# A workflow whose worker is down must not hold the whole check; the activity's retry comes back to it.
UPDATE_TIMEOUT = timedelta(seconds=30)


class HolidayRecheck(HolidayCheckActivity):
    def __init__(self, client: Client, calendars: Path | None) -> None:
        self.client = client
        self.calendars = calendars

    @activity.defn(name="recompute_provisional")
    async def recompute_provisional(self, request: HolidayCheckInput) -> HolidayCheckResult:
        result = HolidayCheckResult()
        waiting: set[int] = set()
        busy: list[str] = []
        query = RUNNING + (f" AND {CAMPAIGN.name} = '{request.campaign}'" if request.campaign else "")
        async for wf in self.client.list_workflows(query):
            activity.heartbeat(wf.id)
            result.checked += 1
            try:
                if wf.workflow_type == "ReportingCycle":
                    new = await self._cycle_calendar(wf.id, waiting, request.by)
                    if new is not None:
                        done = await self.client.get_workflow_handle(wf.id).execute_update(
                            ReportingCycle.update_calendar, new, rpc_timeout=UPDATE_TIMEOUT
                        )
                        result.moved[wf.id] = done.moved
                else:
                    new = await self._lead_calendar(wf.id, waiting, request.by)
                    if new is not None:
                        moved = await self.client.get_workflow_handle(wf.id).execute_update(
                            LeadReferral.update_calendar, new, rpc_timeout=UPDATE_TIMEOUT
                        )
                        result.moved[wf.id] = moved.moved
                if new is not None:
                    result.recomputed.append(wf.id)
            except WorkflowUpdateFailedError as err:
                # Its validator refused the data (closed meanwhile, a zone mismatch): nothing changed; say why.
                result.refused[wf.id] = str(err.cause or err)
            except RPCError as err:
                if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                    continue  # it ended between the listing and the call
                busy.append(f"{wf.id}: {err.message}")
        result.still_provisional = sorted(waiting)
        activity.logger.info("holiday check", extra={"checked": result.checked, "recomputed": len(result.recomputed)})
        if busy:
            # The activity's retry sends them again; those already recomputed are no longer provisional.
            raise RuntimeError(f"{len(busy)} workflow(s) did not take the update: {'; '.join(busy[:5])}")
        return result

    async def _cycle_calendar(self, cycle_id: str, waiting: set[int], by: str) -> NewCalendar | None:
        status = await self.client.get_workflow_handle(cycle_id).query(ReportingCycle.get_status)
        if status.stage is CycleStage.CLOSED:
            return None
        dues = [d for d in (status.unit_due, status.upward_due) if d is not None and d.provisional]
        zone = ZoneInfo(status.unit_due.tz)
        years = {d.at.astimezone(zone).year for d in dues}
        span = cycle_years(status.period, status.unit_due.at)
        return await self._calendar_for(years, span, status.unit_due.tz, waiting, by)

    async def _lead_calendar(self, lead_id: str, waiting: set[int], by: str) -> NewCalendar | None:
        status = await self.client.get_workflow_handle(lead_id).query(LeadReferral.get_status, LeadStatusQuery())
        zone = ZoneInfo(status.tz)
        spans = [
            (r.started_at.astimezone(zone).year, r.due.astimezone(zone).year, r.provisional)
            for r in status.stages
            if r.done_at is None
        ]
        # Years are published in order: when a provisional deadline's own year is out, so is every year before it.
        years = {last for _, last, provisional in spans if provisional}
        # The year before each start too: reminders count back from early-January deadlines.
        every = {y for first, last, _ in spans for y in range(first - 1, last + 2)}
        return await self._calendar_for(years, every, status.tz, waiting, by)

    async def _calendar_for(
        self, provisional: set[int], span: set[int], tz: str, waiting: set[int], by: str
    ) -> NewCalendar | None:
        """New holiday data for `span` when one of the `provisional` years now has published data."""
        if not provisional:
            return None
        now_out = await asyncio.to_thread(published, provisional, self.calendars)
        waiting.update(provisional - now_out)
        if not now_out:
            return None
        cal = await asyncio.to_thread(load_calendar, span | provisional, tz, self.calendars)
        return NewCalendar(calendar=cal, by=by)


def holiday_check_schedule(
    task_queue: str, request: HolidayCheckInput | None = None, schedule_id: str = HOLIDAY_CHECK_SCHEDULE
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            HOLIDAY_CHECK_WORKFLOW,
            request or HolidayCheckInput(),
            id=f"{schedule_id}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(hours=2),
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(CHECK_HOUR)])], time_zone_name=DEFAULT_TZ
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_holiday_check(
    client: Client,
    task_queue: str,
    request: HolidayCheckInput | None = None,
    schedule_id: str = HOLIDAY_CHECK_SCHEDULE,
) -> bool:
    """Create the daily check's Schedule unless it exists; True when this call created it."""
    try:
        await client.create_schedule(schedule_id, holiday_check_schedule(task_queue, request, schedule_id))
    except ScheduleAlreadyRunningError:
        return False
    return True
