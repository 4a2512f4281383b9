"""A deliberately changed ReportingCycle, for proving that the replay check bites.

It is today's workflow with one extra step before the process starts: a holiday
look-up by activity. A deployment carrying such a change unpatched would break
every running cycle, so replaying any recorded history against it must fail.
"""

import datetime as dt

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import HolidayCalendar
    from schemas.cycle import CycleInput, CycleStatus, HolidayRequest
    from workflows.reporting_cycle import ReportingCycle


@workflow.defn(name="ReportingCycle")
class ReportingCycleWithExtraStep(ReportingCycle):
    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        # The unversioned change: a new command at the very start of every run.
        await workflow.execute_activity(
            "load_holidays",
            HolidayRequest(years=[2026], tz="Asia/Shanghai"),
            result_type=HolidayCalendar,
            start_to_close_timeout=dt.timedelta(minutes=1),
        )
        return await super().run(input)
