"""Amending a running ReportingCycle (`amend_units`) on the time-skipping server, real worker and SMTP sink."""

import datetime as dt

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain import cycle_spec
from schemas.amendment import Amended, Amendment, AmendUnits, NewUnitsDue
from schemas.cycle import CycleState, CycleStatus, Light, OfficeAction, SubmitReport, UnitPhase
from schemas.plan import CampaignPlan, Unit
from tests.plans import by_template, caught, cycle_input, person, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

Handle = WorkflowHandle[ReportingCycle, CycleStatus]


def amended_plan() -> CampaignPlan:
    """The office's edited plan: u1 and u3 dropped, u2's contact moved to a new address, u4 joined."""
    p = plan(3)
    u2 = p.units[1].model_copy(update={"contacts": [person("新联系人", "u2-new@yaan.example")]})
    u4 = Unit(id="u4", name="新成员单位", contacts=[person("联系人4", "u4@yaan.example")])
    return p.model_copy(update={"units": [u2, u4]})


def units_call(p: CampaignPlan, how: NewUnitsDue = NewUnitsDue.RULE) -> AmendUnits:
    return AmendUnits(units=cycle_spec.template_for(p, p.obligations[0]).units, new_units_due=how, by="op")


async def _refusal(handle: Handle, call: AmendUnits) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught_err:
        await handle.execute_update(ReportingCycle.amend_units, call)
    cause = caught_err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Rejected"
    return cause.message


def _to(messages: list, template: str) -> list[str]:  # type: ignore[type-arg]
    return sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in by_template(messages, template))


class TestAmendRunningCycle:
    async def test_withdrawn_unit_is_not_chased_new_unit_gets_notice_and_its_deadline(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """After the amendment: u3 hears nothing more, u4 gets its notice and its own ladder, u2's mail goes to
        the new address, u1 (already reported) is kept; the same plan again changes and sends nothing."""
        env = time_skipping_env
        inp = cycle_input(plan(3), await env.get_current_time())
        assert inp.spec is not None
        async with running_worker(env.client, cycle_settings):
            handle: Handle = await env.client.start_workflow(
                ReportingCycle.run,
                inp,
                id=f"{inp.spec.cycle_id}:amend:{(await env.get_current_time()):%H%M%S%f}",
                task_queue=cycle_settings.temporal.task_queue,
            )
            await handle.execute_update(ReportingCycle.submit_report, SubmitReport(unit_id="u1", title="总结"))
            await env.sleep(dt.timedelta(days=2))  # the plan's rule from today ends later than the cycle's date
            call = units_call(amended_plan())

            shown: Amendment = await handle.query(ReportingCycle.preview_amendment, call)
            assert [u.id for u in shown.added] == ["u4"] and shown.withdrawn == ["u3"] and shown.kept == ["u1"]
            assert [(c.unit_id, c.fields) for c in shown.changed] == [("u2", ["contacts"])]
            assert shown.new_units_due is not None and not shown.refusal

            stale = call.model_copy(update={"expect": "0" * 16})
            assert "changed since" in await _refusal(handle, stale)
            done = await handle.execute_update(
                ReportingCycle.amend_units, call.model_copy(update={"expect": shown.digest})
            )
            assert (done.added, done.withdrawn, done.changed) == (["u4"], ["u3"], ["u2"])

            again: Amended = await handle.execute_update(ReportingCycle.amend_units, call)
            assert again.unchanged and not again.added
            assert (await handle.query(ReportingCycle.preview_amendment, call)).empty

            status = await handle.query(ReportingCycle.get_status)
            rows = {r.unit_id: r for r in status.units}
            assert rows["u3"].phase is UnitPhase.WITHDRAWN and rows["u3"].light is Light.WITHDRAWN
            # Its own deadline, counted from the day it joined (the test server's clock may have moved on
            # between the preview and the Update: compare with the cycle's date, not the preview's).
            assert rows["u4"].phase is UnitPhase.PENDING and rows["u4"].due.at > status.unit_due.at
            assert status.counts["withdrawn"] == 1 and status.counts["total"] == 3

            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ReportingCycle.submit_report, SubmitReport(unit_id="u3", title="迟到"))
            assert "withdrawn from this cycle" in str(refused.value.cause)
            # Past every rung of u4's ladder (5 working days, then escalations up to 5 days after).
            await env.sleep(rows["u4"].due.at - await env.get_current_time() + dt.timedelta(days=9))
            state: CycleState = await handle.query(ReportingCycle.get_state)
            await handle.execute_update(ReportingCycle.close, OfficeAction(reason="测试结束", by="op"))
            await handle.result()

        messages = caught(sink.maildir)
        after = [m for m in messages if m["X-Duban-Template"] != "notice" or "u4@" in str(m["To"])]
        assert _to(messages, "notice") == ["u1@yaan.example", "u2@yaan.example", "u3@yaan.example", "u4@yaan.example"]
        assert not [m for m in after if "u3@" in str(m["To"])], "a withdrawn unit was chased"
        assert not [m for m in after if "u2@yaan" in str(m["To"])], "mail went to u2's old address"
        assert "u4@yaan.example" in _to(messages, "overdue") and "u2-new@yaan.example" in _to(messages, "overdue")
        assert "u4@yaan.example" in _to(messages, "reminder") + _to(messages, "due_today")
        bulletin = _to(messages, "bulletin")
        assert bulletin and "u3@yaan.example" not in bulletin and "u4@yaan.example" in bulletin

        audit = [e for e in state.audit if e.by == "op" and "amendment" in e.what]
        assert {(e.detail, e.what.split(" by ")[0]) for e in audit} >= {
            ("u4", "unit added"),
            ("u3", "unit withdrawn"),
            ("u2", "unit changed"),
        }
        assert len({e.at for e in audit}) == 1 and audit[0].at == state.units["u4"].due_set_at
        assert "withdrawn" in [e.what for e in state.units["u3"].timeline]

    async def test_refusals_change_nothing(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Duplicate ids, a unit nobody can reach, the cycle's date already past, over 500 units: refused."""
        env = time_skipping_env
        inp = cycle_input(plan(2), await env.get_current_time())
        assert inp.spec is not None
        async with running_worker(env.client, cycle_settings):
            handle: Handle = await env.client.start_workflow(
                ReportingCycle.run,
                inp,
                id=f"{inp.spec.cycle_id}:refuse:{(await env.get_current_time()):%H%M%S%f}",
                task_queue=cycle_settings.temporal.task_queue,
            )
            before = await handle.query(ReportingCycle.get_state)
            units = units_call(plan(3)).units
            dup = AmendUnits(units=[*units, units[2]], by="op")
            assert "duplicate unit id 'u3'" in await _refusal(handle, dup)
            unreachable = units[2].model_copy(update={"contacts": []})
            assert "reach nobody" in await _refusal(handle, AmendUnits(units=[*units[:2], unreachable], by="op"))
            many = [units[0].model_copy(update={"id": f"n{i}"}) for i in range(499)]
            assert "at most 500" in await _refusal(handle, AmendUnits(units=[*units[:2], *many], by="op"))
            status = await handle.query(ReportingCycle.get_status)
            await env.sleep(status.unit_due.at - await env.get_current_time() + dt.timedelta(hours=1))
            assert "has passed" in await _refusal(handle, units_call(plan(3), NewUnitsDue.CYCLE))
            after = await handle.query(ReportingCycle.get_state)
            assert sorted(after.units) == sorted(before.units) == ["u1", "u2"]
            assert not [e for e in after.audit if "amendment" in e.what]
            await handle.execute_update(ReportingCycle.close, OfficeAction(reason="测试结束", by="op"))
            await handle.result()
