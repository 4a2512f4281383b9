"""ReportingCycle on the time-skipping server, with the real worker, real activities and a real SMTP sink."""

import datetime as dt
from collections import Counter

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from console import client_calls
from schemas.cycle import (
    CycleStage,
    CycleStatus,
    DecideExtension,
    Light,
    LinksRevoked,
    OfficeAction,
    Receipt,
    RequestExtension,
    ReturnForRevision,
    RevokeLinks,
    SubmitReport,
    UnitPhase,
    UnitQuery,
    UnitView,
    Waive,
)
from schemas.plan import UpperOffice
from tests.plans import by_template, caught, cycle_input, plan
from tests.snapshots import cycle_snapshot, quiet_cycle_snapshot
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle


async def _start(env: WorkflowEnvironment, settings: Settings, n_units: int = 3, **kw: object):  # type: ignore[no-untyped-def]
    p = plan(n_units, **kw)  # type: ignore[arg-type]
    inp = cycle_input(p, env_now := await env.get_current_time())
    assert inp.spec is not None
    return await env.client.start_workflow(
        "ReportingCycle",
        inp,
        id=inp.spec.cycle_id + env_now.strftime("%H%M%S%f"),
        task_queue=settings.temporal.task_queue,
        result_type=CycleStatus,
    )


async def _status(handle) -> CycleStatus:  # type: ignore[no-untyped-def]
    return await handle.query("get_status", result_type=CycleStatus)


def _rows(status: CycleStatus) -> dict[str, object]:
    return {r.unit_id: r for r in status.units}


class TestLadder:
    async def test_on_time_late_and_never_across_a_worker_restart(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Every unit gets its notice; only the missing get chased; leaders hear of the one that never reports."""
        env = time_skipping_env
        async with running_worker(env.client, cycle_settings):
            handle = await _start(env, cycle_settings)
            receipt = await handle.execute_update(
                "submit_report", SubmitReport(unit_id="u1", title="年度总结"), result_type=Receipt
            )
            assert not receipt.late and receipt.receipt_no
            status = await _status(handle)
            rows = _rows(status)
            assert rows["u1"].light is Light.GREEN  # type: ignore[attr-defined]
            assert status.counts["pending"] == 2
            # Sleep past the unit deadline (the worker stops in between: a restart must not resend).
            await env.sleep(status.unit_due.at - await env.get_current_time() + dt.timedelta(hours=1))
            status = await _status(handle)
            assert {r.unit_id for r in status.units if r.overdue} == {"u2", "u3"}
            assert _rows(status)["u2"].light is Light.RED  # type: ignore[attr-defined]
        async with running_worker(env.client, cycle_settings):
            late = await handle.execute_update(
                "submit_report", SubmitReport(unit_id="u2", title="年度总结（补报）"), result_type=Receipt
            )
            assert late.late
            final = await handle.result()
        assert final.stage is CycleStage.CLOSED
        rows = _rows(final)
        u2 = rows["u2"]
        assert u2.phase is UnitPhase.SUBMITTED and u2.submitted_at == late.accepted_at  # type: ignore[attr-defined]
        # Calendar days between the due day and the day it came in, in the office's zone (Beijing time).
        beijing = dt.timezone(dt.timedelta(hours=8))
        expected_late = (late.accepted_at.astimezone(beijing).date() - u2.due.at.astimezone(beijing).date()).days  # type: ignore[attr-defined]
        assert expected_late >= 1 and u2.days_late == expected_late  # type: ignore[attr-defined]
        assert rows["u3"].overdue and rows["u3"].escalation_level == 3  # type: ignore[attr-defined]

        messages = caught(sink.maildir)
        ids = Counter(m["Message-ID"] for m in messages)
        assert all(n == 1 for n in ids.values()), "a message was sent twice"
        to = lambda t: sorted(str(m["To"]) for m in by_template(messages, t))  # noqa: E731
        assert len(by_template(messages, "notice")) == 3
        assert len(by_template(messages, "receipt")) == 2
        chased = to("reminder") + to("due_today")
        assert chased and all("u1@" not in a for a in chased), "a unit that had reported was chased"
        assert sorted(a.split("<")[-1].rstrip(">") for a in to("overdue")) == ["u2@yaan.example", "u3@yaan.example"]
        # The office's escalation and its own upward reminder fall on the same morning: one digest.
        escalated = " ".join(to("escalation") + to("digest"))
        assert "leader3@" in escalated and "chief@" in escalated and "office@" in escalated
        assert "leader2@" not in escalated and "leader1@" not in escalated
        assert len(by_template(messages, "bulletin")) == 3  # every unit's contact hears the 通报
        office_mail = [m for m in messages if "office@" in str(m["To"])]
        assert any(m["X-Duban-Template"] in ("office_reminder", "digest") for m in office_mail)


class TestOfficeActions:
    async def test_extension_revision_waiver_and_rejections(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Office actions move deadlines or settle units; every refused call says why and changes nothing.

        On the dev server: the Java test server loses the outcome of a rejected Update.
        """
        env = dev_server_env
        async with running_worker(env.client, cycle_settings):
            handle = await _start(env, cycle_settings)
            opened = await _status(handle)
            due_day = opened.unit_due.at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()

            async def rejected(name: str, call: object, fragment: str) -> None:
                """Refused with the reason; every unit's full view, the audit, the outbox and the history as before."""
                snapshot = await quiet_cycle_snapshot(env.client, handle.id)
                with pytest.raises(WorkflowUpdateFailedError) as err:
                    await handle.execute_update(name, call)
                assert fragment in str(err.value.cause)
                assert await cycle_snapshot(env.client, handle.id) == snapshot, f"{name} refused but changed the cycle"

            await rejected("submit_report", SubmitReport(unit_id="nobody", title="x"), "unknown unit")
            await rejected(
                "request_extension", RequestExtension(unit_id="u1", reason="r", wanted=due_day), "must be after"
            )
            await rejected(
                "decide_extension", DecideExtension(unit_id="u1", approve=False, by="op"), "no extension request"
            )
            await rejected(
                "return_for_revision",
                ReturnForRevision(unit_id="u1", reason="r", new_due=due_day, by="op"),
                "no accepted report",
            )

            # A date the calendar cannot count is refused by the validator, not left to fail the handler
            # (which would freeze the workflow: its task retried forever).
            far = dt.date(2935, 10, 6)
            await rejected(
                "request_extension", RequestExtension(unit_id="u1", reason="r", wanted=far), "cannot be used"
            )
            await rejected(
                "decide_extension", DecideExtension(unit_id="u1", approve=True, new_due=far, by="op"), "cannot be used"
            )

            wanted = due_day + dt.timedelta(days=7)
            await handle.execute_update(
                "request_extension", RequestExtension(unit_id="u1", reason="数据未齐", wanted=wanted)
            )
            await rejected(
                "request_extension",
                RequestExtension(unit_id="u1", reason="again", wanted=wanted),
                "already has an extension request",
            )
            await handle.execute_update("decide_extension", DecideExtension(unit_id="u1", approve=True, by="op"))
            await handle.execute_update("request_extension", RequestExtension(unit_id="u2", reason="r", wanted=wanted))
            await handle.execute_update(
                "decide_extension", DecideExtension(unit_id="u2", approve=False, reason="不予延期", by="op")
            )
            await handle.execute_update("submit_report", SubmitReport(unit_id="u3", title="总结"))
            await handle.execute_update(
                "return_for_revision", ReturnForRevision(unit_id="u3", reason="数据有误", new_due=wanted, by="op")
            )
            await handle.execute_update("waive", Waive(unit_id="u2", reason="本期无相关工作", by="op"))
            await rejected("submit_report", SubmitReport(unit_id="u2", title="x"), "exempted")
            view = await handle.query("get_unit", UnitQuery(unit_id="u1"), result_type=UnitView)
            assert view.state.due.at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == wanted
            assert view.state.due_version == 1 and not view.state.base_due
            status = await _status(handle)
            rows = _rows(status)
            assert rows["u2"].light is Light.GREY  # type: ignore[attr-defined]
            assert rows["u3"].phase is UnitPhase.RETURNED  # type: ignore[attr-defined]
            await rejected(
                "return_for_revision",
                ReturnForRevision(unit_id="u3", reason="r", new_due=far, by="op"),
                "no accepted report",  # returned already: pending again
            )
            await handle.execute_update("submit_report", SubmitReport(unit_id="u3", title="修改稿"))
            await rejected(
                "return_for_revision",
                ReturnForRevision(unit_id="u3", reason="r", new_due=far, by="op"),
                "cannot be used",
            )

            await handle.execute_update("close", OfficeAction(reason="test over", by="op"))
            final = await handle.result()
            # A closed cycle has completed: a late call is refused, not lost in a queue.
            with pytest.raises(client_calls.Rejected):
                await client_calls.update(
                    env.client, handle.id, ReportingCycle.submit_report, SubmitReport(unit_id="u1", title="x")
                )
        assert final.stage is CycleStage.CLOSED
        messages = caught(sink.maildir)
        assert len(by_template(messages, "extension_decided")) == 2
        assert len(by_template(messages, "returned")) == 1


class TestRevokeLinks:
    async def test_revocation_is_recorded_and_an_unknown_unit_changes_nothing(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """revoke_links sets the unit's links_valid_from at the workflow's now and records who, when and why;
        an unknown unit is refused and leaves every unit as it was (dev server: it keeps rejected Updates' outcome)."""
        env = dev_server_env
        async with running_worker(env.client, cycle_settings):
            handle = await _start(env, cycle_settings, n_units=2)

            async def views() -> dict[str, UnitView]:
                return {
                    u: await handle.query("get_unit", UnitQuery(unit_id=u), result_type=UnitView) for u in ("u1", "u2")
                }

            before = await views()
            assert before["u1"].state.links_valid_from is None
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await handle.execute_update("revoke_links", RevokeLinks(unit_id="nobody", by="op"))
            assert "unknown unit 'nobody'" in str(err.value.cause)
            assert await views() == before

            result = await handle.execute_update(
                "revoke_links",
                RevokeLinks(unit_id="u1", reason="通知被转发到外部群", by="张三"),
                result_type=LinksRevoked,
            )
            after = await views()
            u1 = after["u1"].state
            assert u1.links_valid_from == result.links_valid_from
            assert before["u1"].state.timeline[-1].at <= u1.links_valid_from <= await env.get_current_time()
            entry = u1.timeline[-1]
            assert (entry.what, entry.by, entry.detail, entry.at) == (
                "links_revoked",
                "张三",
                "通知被转发到外部群",
                result.links_valid_from,
            )
            # Only that unit; and nothing else about it moved.
            assert after["u2"] == before["u2"]
            assert u1.model_copy(update={"links_valid_from": None, "timeline": u1.timeline[:-1]}) == before["u1"].state

            # A second revocation moves the moment on (a new leak after new links went out).
            again = await handle.execute_update(
                "revoke_links", RevokeLinks(unit_id="u1", by="李四"), result_type=LinksRevoked
            )
            assert again.links_valid_from > result.links_valid_from
            await handle.execute_update("close", OfficeAction(reason="test over", by="op"))
            final = await handle.result()
        assert final.stage is CycleStage.CLOSED

    def test_a_closed_cycle_still_takes_a_revocation(self) -> None:
        """Other office actions refuse a closed cycle; a revocation does not (its portal page stays readable).

        The validator is called directly: between closing and ending, a cycle is open to calls for one
        workflow task, too short to aim a call at through a server."""
        cycle = ReportingCycle(cycle_input(plan(2), dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)))
        cycle.state.stage = CycleStage.CLOSED
        with pytest.raises(ApplicationError, match="is closed"):
            cycle.validate_waive(Waive(unit_id="u1", reason="r", by="op"))
        cycle.validate_revoke_links(RevokeLinks(unit_id="u1", by="op"))
        with pytest.raises(ApplicationError, match="unknown unit"):
            cycle.validate_revoke_links(RevokeLinks(unit_id="nobody", by="op"))


class TestGroupRobots:
    async def test_an_escalation_rung_also_posts_to_its_group_robot(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """A rung with `webhooks: [leaders]` posts one message listing the late units to that robot, once."""
        from pydantic import SecretStr

        from console.mail_viewer import list_hook_posts
        from schemas.calendar import LadderStep
        from schemas.plan import EscalationStep, Recipient
        from tests.plans import ladder_obligation

        env = time_skipping_env
        ob = ladder_obligation(
            escalations=[
                EscalationStep(
                    step=LadderStep(key="leadership", offset=1), recipients=[Recipient.LEADERSHIP], webhooks=["leaders"]
                ),
            ]
        )
        settings = cycle_settings.model_copy(update={"webhooks": {"leaders": SecretStr("sink://wecom/leaders")}})
        async with running_worker(env.client, settings):
            handle = await _start(env, settings, obligation=ob)
            await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
            final = await handle.result()
        assert final.counts["overdue"] == 2
        posts = list_hook_posts(settings.data_dir / "webhooks")
        assert len(posts) == 1
        text = str(posts[0])
        assert "测试单位2" in text and "测试单位3" in text and "测试单位1" not in text


class TestBrokenDependency:
    async def test_a_file_gone_from_the_store_is_named_and_the_cycle_still_forwards_and_closes(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Issue 17: a blob removed before the roll-up. The package goes up with what is there, the
        missing file is named on the board and in the audit trail, and the cycle runs to its close."""
        env = time_skipping_env
        store = blob_store(cycle_settings)
        kept = await store.put("雅安市公安局工作总结".encode(), "总结.txt", "text/plain")
        doomed = await store.put("将被删除的附件".encode(), "缺失的附件.pdf", "application/pdf")
        upper = UpperOffice(id="sc", name="省打假办", email="province@sc.example")
        async with running_worker(env.client, cycle_settings):
            handle = await _start(env, cycle_settings, upper=upper)
            await handle.execute_update(
                "submit_report",
                SubmitReport(unit_id="u1", title="总结", attachments=[kept, doomed]),
                result_type=Receipt,
            )
            await store.discard(doomed)
            assert not await store.exists(doomed)
            await handle.execute_update("forward_upward", OfficeAction(reason="省里催要", by="op"))
            status = await _status(handle)
            for _ in range(50):
                if status.forwarded_at is not None:
                    break
                await env.sleep(dt.timedelta(seconds=10))
                status = await _status(handle)
            assert status.forwarded_at is not None, status.problems
            incomplete = [p for p in status.problems if p.startswith("rollup_incomplete")]
            assert len(incomplete) == 1 and "缺失的附件.pdf" in incomplete[0], status.problems
            state = await handle.query(ReportingCycle.get_state)
            forwarded = [e for e in state.audit if e.what == "forwarded"]
            assert len(forwarded) == 1 and "1 file(s) missing from the store" in forwarded[0].detail
            up = [m for m in sink.messages() if "province@sc.example" in str(m["To"])]
            assert len(up) == 1, [m["To"] for m in sink.messages()]
            final = await handle.result()
        assert final.stage is CycleStage.CLOSED
