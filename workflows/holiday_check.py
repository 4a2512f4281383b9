"""`HolidayCheck`: the daily Schedule's workflow — deadlines follow new holiday data without an operator.

The work (listing running cycles and leads, reading the calendars folder, sending
each the `update_calendar` Update) is one activity: it needs the Temporal client
and the files. The workflow gives it a retry policy and a place in the history.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.activities import HolidayCheckActivity
    from schemas.holiday_check import HOLIDAY_CHECK_WORKFLOW, HolidayCheckInput, HolidayCheckResult


@workflow.defn(name=HOLIDAY_CHECK_WORKFLOW)
class HolidayCheck:
    @workflow.run
    async def run(self, request: HolidayCheckInput) -> HolidayCheckResult:
        return await workflow.execute_activity_method(
            HolidayCheckActivity.recompute_provisional,
            request,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            # A busy workflow (10 in-flight Updates) is retried; tomorrow's check comes anyway.
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=5)),
        )
