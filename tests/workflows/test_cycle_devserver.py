"""ReportingCycle on the dev server: search attributes and listing, schedules, and roll-up into a parent cycle."""

import asyncio
import datetime as dt

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from console.campaign_cmd import schedule_id, start_campaign
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import CycleStatus, Receipt, SubmitReport, UnitPhase, UnitQuery, UnitView
from schemas.plan import DueSpec, Period, UpperOffice
from tests.plans import by_template, caught, cycle_input, ladder_obligation, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings


async def _wait_for(predicate, within: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def _ids(client: Client, query: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(query)]


def _seconds_obligation(seconds_to_due: int) -> object:
    """A cycle due a few seconds after opening, with an immediate escalation to the unit's leader."""
    return ladder_obligation(
        period=Period.ONCE,
        unit_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=1)),
        upward_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=30)),
        reminders=[],
        escalations=[],
        office_reminders=[],
    )


class TestVisibility:
    async def test_overdue_unit_is_found_by_search_attribute_and_cleared_by_a_submission(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """`DubanOverdueUnits = 'u2'` finds the cycle of a late unit; its submission clears it."""
        env = dev_server_env
        campaign = f"vis{dt.datetime.now().strftime('%H%M%S%f')}"
        p = plan(2, obligation=_seconds_obligation(1), campaign_id=campaign)  # type: ignore[arg-type]
        now = dt.datetime.now(dt.UTC)
        inp = cycle_input(p, now - dt.timedelta(seconds=59))  # due one second from now
        assert inp.spec is not None
        async with running_worker(env.client, cycle_settings):
            handle = await env.client.start_workflow(
                "ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=cycle_settings.temporal.task_queue
            )
            base = f"WorkflowType = 'ReportingCycle' AND DubanCampaign = '{campaign}'"

            async def overdue() -> bool:
                return await _ids(env.client, f"{base} AND DubanOverdueUnits = 'u2'") == [handle.id]

            await _wait_for(overdue)
            assert await _ids(env.client, f"{base} AND DubanPendingUnits = 'u1'") == [handle.id]
            await handle.execute_update("submit_report", SubmitReport(unit_id="u2", title="补报"), result_type=Receipt)

            async def cleared() -> bool:
                return await _ids(env.client, f"{base} AND DubanOverdueUnits = 'u2'") == []

            await _wait_for(cleared)
            desc = await handle.describe()
            attrs = {k.name: v for k, v in desc.typed_search_attributes}  # type: ignore[attr-defined]
            assert attrs["DubanStage"] == "consolidating"
            assert attrs["DubanOffice"] == "yaan" and attrs["DubanPendingUnits"] == ["u1"]
            # Search attributes carry ids only: no unit name, no person, no address.
            assert "测试单位" not in str(attrs) and "@" not in str(attrs)
            await handle.terminate("test over")

    async def test_a_cycle_of_400_units_lists_them_all_in_its_search_attributes(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """400 pending ids are over Temporal's default 2 KiB per value; with duban's server limits the cycle runs on."""
        env = dev_server_env
        campaign = f"big{dt.datetime.now().strftime('%H%M%S%f')}"
        p = plan(400, obligation=_seconds_obligation(1), campaign_id=campaign)  # type: ignore[arg-type]
        inp = cycle_input(p, dt.datetime.now(dt.UTC))  # due in a minute: only the notices go out here
        assert inp.spec is not None
        async with running_worker(env.client, cycle_settings):
            handle = await env.client.start_workflow(
                "ReportingCycle", inp, id=inp.spec.cycle_id, task_queue=cycle_settings.temporal.task_queue
            )
            base = f"WorkflowType = 'ReportingCycle' AND DubanCampaign = '{campaign}'"

            async def listed() -> bool:
                return await _ids(env.client, f"{base} AND DubanPendingUnits = 'u399'") == [handle.id]

            await _wait_for(listed)
            desc = await handle.describe()
            attrs = {k.name: v for k, v in desc.typed_search_attributes}  # type: ignore[attr-defined]
            assert len(attrs["DubanPendingUnits"]) == 400
            assert len(str(attrs["DubanPendingUnits"])) > 2048
            assert desc.status is not None and desc.status.name == "RUNNING"
            await handle.terminate("test over")


class TestRollup:
    async def test_city_package_reaches_the_province_cycle(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """When every unit of the city has reported, its package is submitted as the city's report upward."""
        env = dev_server_env
        tag = dt.datetime.now().strftime("%H%M%S%f")
        province = plan(2, campaign_id=f"prov{tag}", office_id="sc")
        province.units[0].id = "yaan"
        city = plan(
            2,
            campaign_id=f"city{tag}",
            office_id="yaan",
            upper=UpperOffice(id="sc", name="省打假办", campaign=f"prov{tag}", as_unit="yaan"),
        )
        now = dt.datetime.now(dt.UTC)
        queue = cycle_settings.temporal.task_queue
        async with running_worker(env.client, cycle_settings):
            prov_in = cycle_input(province, now)
            city_in = cycle_input(city, now)
            assert prov_in.spec and city_in.spec
            parent = await env.client.start_workflow(
                "ReportingCycle", prov_in, id=prov_in.spec.cycle_id, task_queue=queue
            )
            child = await env.client.start_workflow(
                "ReportingCycle", city_in, id=city_in.spec.cycle_id, task_queue=queue, result_type=CycleStatus
            )
            blobs = blob_store(cycle_settings)
            report = await blobs.put("雅安市公安局工作总结".encode(), "总结.txt", "text/plain")
            await child.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结", attachments=[report]))
            await child.execute_update("submit_report", SubmitReport(unit_id="u2", title="总结"))

            async def parent_has_it() -> bool:
                view = await parent.query("get_unit", UnitQuery(unit_id="yaan"), result_type=UnitView)
                return view.state.phase is UnitPhase.SUBMITTED

            await _wait_for(parent_has_it)
            view = await parent.query("get_unit", UnitQuery(unit_id="yaan"), result_type=UnitView)
            (submission,) = view.state.submissions
            assert submission.by == child.id
            package = submission.attachments[0]
            assert package.media_type == "application/zip" and await blobs.exists(package)
            final = await child.result()
            assert final.forwarded_at is not None and final.stage.value == "closed"
            await parent.terminate("test over")
        assert by_template(caught(sink.maildir), "rollup") == []  # it went through the cycle, not by mail


class TestSchedules:
    async def test_campaign_start_schedules_periodic_obligations_in_the_office_zone(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings
    ) -> None:
        """A half-year obligation becomes a Schedule firing on its opening day at 09:00 Asia/Shanghai."""
        env = dev_server_env
        tag = dt.datetime.now().strftime("%H%M%S%f")
        ob = ladder_obligation(
            id="half-year",
            period=Period.HALF_YEAR,
            opens="05-13",
            halves=[1],
            unit_due=DueSpec(day="06-13"),
            upward_due=DueSpec(day="06-15"),
            reminders=[LadderStep(key="5wd", offset=5, unit=StepUnit.WORKING_DAYS)],
        )
        p = plan(2, obligation=ob, campaign_id=f"sched{tag}")  # type: ignore[arg-type]
        now = dt.datetime(2026, 11, 28, 4, 0, tzinfo=dt.UTC)  # H1 is over: nothing to open now
        result = await start_campaign(env.client, cycle_settings, p, now)
        assert result["cycles"] == []
        assert result["schedules"] == [schedule_id(p, ob)]
        desc = await env.client.get_schedule_handle(schedule_id(p, ob)).describe()
        spec = desc.schedule.spec
        assert spec.time_zone_name == "Asia/Shanghai"
        (cal,) = spec.calendars
        assert [r.start for r in cal.month] == [5] and [r.start for r in cal.day_of_month] == [13]
        assert [r.start for r in cal.hour] == [9]
        next_run = desc.info.next_action_times[0]
        assert next_run.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%m-%d %H:%M") == "05-13 09:00"
        # Starting the campaign again replaces the schedule instead of failing.
        again = await start_campaign(env.client, cycle_settings, p, now)
        assert again["schedules"] == result["schedules"]
        await env.client.get_schedule_handle(schedule_id(p, ob)).delete()
