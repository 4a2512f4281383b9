"""Holiday data for cycles opened by a Schedule: read here, then fixed in the workflow's history."""

import asyncio

from temporalio import activity

from schemas.calendar import HolidayCalendar
from schemas.cycle import HolidayRequest
from workflows.legaltime.data import load_calendar


@activity.defn(name="load_holidays")
async def load_holidays(request: HolidayRequest) -> HolidayCalendar:
    return await asyncio.to_thread(load_calendar, request.years, request.tz)
