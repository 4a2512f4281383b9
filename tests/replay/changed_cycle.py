"""Deliberately changed ReportingCycles, for proving what the replay check catches.

Each is today's workflow with one unversioned change, as a careless deployment
would carry it; replaying recorded histories against it must fail where the
change alters what a running cycle does (see test_replay_cycles.py):

- `ReportingCycleWithExtraStep`: a holiday look-up by activity before the process starts;
- `ReportingCycleWithExtraRollupStep`: the same activity in the middle of a run, before the roll-up;
- `ReportingCycleWithLaterLadder`: every reminder and escalation an hour later (the agenda changed);
- `ReportingCycleWithLongerSleeps`: every timer an hour longer, the agenda unchanged;
"""

import datetime as dt

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.activities import HolidayActivity
    from schemas.cycle import CycleInput, CycleStatus, HolidayRequest
    from workflows.reporting_cycle import ReportingCycle

HOUR = dt.timedelta(hours=1)


async def look_up_holidays() -> None:
    """An activity call the recorded histories never made: a new command wherever it is added."""
    await workflow.execute_activity_method(
        HolidayActivity.load_holidays,
        HolidayRequest(years=[2026], tz="Asia/Shanghai"),
        start_to_close_timeout=dt.timedelta(minutes=1),
    )


@workflow.defn(name="ReportingCycle")
class ReportingCycleWithExtraStep(ReportingCycle):
    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        await look_up_holidays()  # the unversioned change: a new command at the very start of every run
        return await super().run(input)


@workflow.defn(name="ReportingCycle")
class ReportingCycleWithExtraRollupStep(ReportingCycle):
    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        return await super().run(input)

    async def _forward(self, now: dt.datetime) -> None:
        await look_up_holidays()  # the unversioned change: a new command mid-run, after timers and mail
        await super()._forward(now)


@workflow.defn(name="ReportingCycle")
class ReportingCycleWithLaterLadder(ReportingCycle):
    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        return await super().run(input)

    async def _act_on_due_items(self, now: dt.datetime) -> bool:
        # An item counts as due an hour after its moment: every rung fires an hour later.
        return await super()._act_on_due_items(now - HOUR)

    async def _sleep_until_next(self, now: dt.datetime) -> None:
        await super()._sleep_until_next(now - HOUR)  # so the timers wait until then: each an hour longer


@workflow.defn(name="ReportingCycle")
class ReportingCycleWithLongerSleeps(ReportingCycle):
    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        return await super().run(input)

    async def _sleep_until_next(self, now: dt.datetime) -> None:
        await super()._sleep_until_next(now - HOUR)  # each timer an hour longer; what is due when, unchanged
