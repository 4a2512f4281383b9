"""The daily holiday check, on the dev server through its Schedule: deadlines follow new holiday data by themselves.

A lead and a cycle are counted on provisional 2027 data (chinesecalendar has no
2027). The check runs before the year's file exists (nothing moves, 2027 is
reported still provisional), after `calendars/2027.toml` appears (both move, each
party gets one mail through the real SMTP sink), and once more (nothing moves,
no second mail).
"""

import asyncio
import datetime as dt
import uuid
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.client import Client, ScheduleHandle
from temporalio.testing import WorkflowEnvironment

from domain.lead_policies import between_agencies
from schemas.calendar import DueRule, RuleKind
from schemas.cycle import CycleStatus
from schemas.holiday_check import HolidayCheckInput, HolidayCheckResult
from schemas.lead import LeadStatus, LeadStatusQuery, StageName
from schemas.plan import DueSpec, Period
from tests.lead_support import lead_input
from tests.plans import by_template, caught, cycle_input, ladder_obligation, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.holiday_check import ensure_holiday_check
from workers.settings import Settings
from workflows.holiday_check import HolidayCheck
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

SH = ZoneInfo("Asia/Shanghai")
# A Wednesday, a working day in provisional 2027; the test's 2027.toml makes it a holiday.
DUE_DAY = dt.date(2027, 1, 13)
TOML = """year = 2027
source = "测试用：2027年节假日安排（非真实安排）"
makeup_days = []

[holidays]
"测试假日" = [2027-01-13]
"""


async def _check(client: Client, schedule: ScheduleHandle) -> HolidayCheckResult:
    """Trigger the Schedule now and wait for the check it starts."""
    before = len((await schedule.describe()).info.recent_actions)
    await schedule.trigger()
    for _ in range(150):
        actions = (await schedule.describe()).info.recent_actions
        if len(actions) > before:
            run = actions[-1].action
            handle = client.get_workflow_handle_for(HolidayCheck.run, run.workflow_id)
            return await handle.result()
        await asyncio.sleep(0.2)
    raise AssertionError("the Schedule did not start the check")


def _local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(SH).date()


async def test_lead_and_cycle_move_once_when_2027_data_appears(
    dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink, tmp_path: Path
) -> None:
    """Provisional 2027 deadlines of a lead and a cycle move by the daily check alone, one mail per party."""
    client = dev_server_env.client
    calendars = tmp_path / "calendars"
    calendars.mkdir()
    settings = cycle_settings.model_copy(update={"calendars_dir": calendars})
    campaign = f"hol{uuid.uuid4().hex[:10]}"
    now = dt.datetime.now(dt.UTC)
    days = (DUE_DAY - _local_day(now)).days  # calendar days: due on DUE_DAY, 24:00

    # The lead: a sign-for limit counted in calendar days that ends in 2027.
    policy = between_agencies()
    sign = policy.stage(StageName.SIGN)
    assert sign is not None
    sign.limit, sign.reminders, sign.escalations = DueRule(kind=RuleKind.DAYS, n=days), [], []
    lead = lead_input(now, policy=policy, lead_id=f"lead:{campaign}:0001").model_copy(update={"campaign_id": campaign})
    # The cycle: its units' deadline, same rule.
    ob = ladder_obligation(
        period=Period.ONCE,
        unit_due=DueSpec(after=DueRule(kind=RuleKind.DAYS, n=days)),
        reminders=[],
        escalations=[],
        office_reminders=[],
    )
    cycle = cycle_input(plan(2, obligation=ob, campaign_id=campaign), now)
    assert cycle.spec is not None
    tq = settings.temporal.task_queue
    async with running_worker(client, settings):
        lead_h = await client.start_workflow(LeadReferral.run, lead, id=lead.lead_id, task_queue=tq)
        cycle_h = await client.start_workflow(ReportingCycle.run, cycle, id=cycle.spec.cycle_id, task_queue=tq)
        lead_before = await lead_h.query(LeadReferral.get_status, LeadStatusQuery())
        cycle_before = await cycle_h.query(ReportingCycle.get_status)
        assert _local_day(lead_before.stages[0].due) == DUE_DAY and lead_before.stages[0].provisional
        assert _local_day(cycle_before.unit_due.at) == DUE_DAY and cycle_before.unit_due.provisional

        # Both listed under the campaign (search attributes are visible a moment after the first task).
        listed = f"DubanCampaign = '{campaign}'"
        for _ in range(100):
            if len([wf async for wf in client.list_workflows(listed)]) == 2:
                break
            await asyncio.sleep(0.1)
        schedule_id = f"holiday-check-{campaign}"
        assert await ensure_holiday_check(client, tq, HolidayCheckInput(campaign=campaign), schedule_id)
        assert not await ensure_holiday_check(client, tq, HolidayCheckInput(campaign=campaign), schedule_id)
        schedule = client.get_schedule_handle(schedule_id)
        try:
            # No 2027 data yet: nothing is sent, the year is reported as still provisional.
            first = await _check(client, schedule)
            assert first.checked == 2 and first.recomputed == [] and first.still_provisional == [2027]

            (calendars / "2027.toml").write_text(TOML, encoding="utf-8")
            second = await _check(client, schedule)
            assert sorted(second.recomputed) == sorted([lead.lead_id, cycle.spec.cycle_id])
            assert second.moved[lead.lead_id] == ["yaan-scj:sign#0"]
            assert sorted(second.moved[cycle.spec.cycle_id]) == ["u1", "u2"]

            lead_after: LeadStatus = await lead_h.query(LeadReferral.get_status, LeadStatusQuery())
            cycle_after: CycleStatus = await cycle_h.query(ReportingCycle.get_status)
            moved_to = DUE_DAY + dt.timedelta(days=1)
            assert _local_day(lead_after.stages[0].due) == moved_to and not lead_after.stages[0].provisional
            assert _local_day(cycle_after.unit_due.at) == moved_to and not cycle_after.unit_due.provisional

            # Each party once: the lead's receiver, each unit of the cycle.
            def moved_mail() -> dict[str, int]:
                found: dict[str, int] = {}
                for m in caught(sink.maildir):
                    lead_moved = m["X-Duban-Template"] == "lead_stage" and "时限调整" in str(m["Subject"])
                    if lead_moved or by_template([m], "deadline_moved"):
                        to = parseaddr(str(m["To"]))[1]
                        found[to] = found.get(to, 0) + 1
                return found

            expected = dict.fromkeys(["yaan-scj@yaan.example", "u1@yaan.example", "u2@yaan.example"], 1)
            for _ in range(100):
                if moved_mail() == expected:
                    break
                await asyncio.sleep(0.2)
            assert moved_mail() == expected

            # Again: nothing provisional is left, nothing is sent.
            third = await _check(client, schedule)
            assert third.recomputed == [] and third.still_provisional == []
            await asyncio.sleep(1.0)
            assert moved_mail() == expected
        finally:
            await schedule.delete()
            for h in (lead_h, cycle_h):
                await h.terminate("test over")
