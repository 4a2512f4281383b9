"""Every Update of both workflows, driven with generated arguments on the dev server: refused or applied.

An exception in an Update handler after its validator accepted is not a refusal: the
workflow task fails and is retried forever, and the whole workflow (timers, other calls)
stands still. Here hypothesis throws generated calls — dates from year 1 to 9999,
unknown units, oversized files, calendars in another zone or with no working day —
at a running ReportingCycle and a running LeadReferral. Each call must come back as
a result or as a `Rejected` reason, and the history must hold no WorkflowTaskFailed.

Hypothesis drives a synchronous test body in a thread; each call runs on the session's
event loop (where the Temporal client lives) through `run_coroutine_threadsafe`.
"""

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from schemas.amendment import AmendUnits, NewUnitsDue
from schemas.blobs import BlobRef
from schemas.calendar import HolidayCalendar, YearCalendar
from schemas.cycle import (
    CycleStatus,
    CycleUnit,
    DecideExtension,
    NewCalendar,
    OfficeAction,
    RemindNow,
    RequestExtension,
    ReturnForRevision,
    RevokeLinks,
    SubmitReport,
    Waive,
)
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    DecideLeadExtension,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadStatus,
    LeadStatusQuery,
    RequestLeadExtension,
    RequestReconsideration,
    SignFor,
    StageName,
    Transfer,
)
from schemas.people import Person
from schemas.plan import ReportKind
from tests.lead_support import AGRICULTURE, CUSTOMS, MARKET, POLICE, PROCURATORATE, lead_input, unit
from tests.plans import cycle_input, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings

EXAMPLES = 120  # calls per workflow; ~20 ms each on the dev server

units = st.sampled_from(["u1", "u2", "u3", "nobody"])
# Dates near the cycle (the interesting boundaries) and anywhere at all (the legal-time code's limits).
near = st.integers(min_value=-40, max_value=400).map(lambda d: dt.date(2026, 3, 2) + dt.timedelta(days=d))
dates = st.one_of(near, st.dates(), st.just(dt.date(2100, 1, 1)), st.just(dt.date(2099, 12, 31)))
text = st.text(min_size=1, max_size=60)
people = st.sampled_from(["op", "办公室 张三"])
blobs = st.builds(
    BlobRef,
    sha256=st.sampled_from(["a" * 64, "b" * 64]),
    size=st.integers(min_value=0, max_value=2**40),
    name=st.sampled_from(["总结.pdf", "x.docx"]),
)


def _year(year: int, no_working_day: bool) -> YearCalendar:
    # A year where every day is a holiday: the legal-time code cannot find a working day in it.
    start = dt.date(year, 1, 1)
    holidays = {start + dt.timedelta(days=i): "假" for i in range(366 if no_working_day else 0)}
    return YearCalendar(year=year, holidays={d: n for d, n in holidays.items() if d.year == year})


calendars = st.builds(
    lambda tz, years, broken: HolidayCalendar(tz=tz, years={y: _year(y, broken) for y in years}),
    st.sampled_from(["Asia/Shanghai", "UTC"]),
    st.sets(st.sampled_from([2025, 2026, 2027]), max_size=3),
    st.booleans(),
)

# A plan's units for the cycle: u4 always stays (the cycle must not finish while the calls run), at most one
# of u1-u3 is dropped at a time (so reports still arrive), and new, duplicate, malformed, renamed and
# unreachable units come and go.
extra_units = st.builds(
    lambda uid, name, reachable: CycleUnit(
        id=uid, name=name, contacts=[Person(name="联系人", email="unit@x.example" if reachable else None)]
    ),
    st.sampled_from(["u1", "new-a", "new-b", "Bad ID", ""]),
    st.sampled_from(["单位", "", "改名单位"]),
    st.booleans(),
)
amend_calls = st.builds(
    lambda kept, extra, how, expect, by: AmendUnits(
        units=[
            CycleUnit(id=u, name=f"测试单位{u[1]}", contacts=[Person(name="联系人", email=f"{u}@yaan.example")])
            for u in sorted(kept | {"u4"})
        ]
        + extra,
        new_units_due=how,
        expect=expect,
        by=by,
    ),
    st.sets(st.sampled_from(["u1", "u2", "u3"]), min_size=2),
    st.lists(extra_units, max_size=3),
    st.sampled_from(list(NewUnitsDue)),
    st.sampled_from(["", "0123456789abcdef"]),
    people,
)

CYCLE_CALLS = st.one_of(
    st.tuples(
        st.just("submit_report"),
        st.builds(
            SubmitReport,
            unit_id=units,
            title=text,
            kind=st.sampled_from(list(ReportKind)),
            body=st.none() | blobs,
            attachments=st.lists(blobs, max_size=22),
        ),
    ),
    st.tuples(st.just("request_extension"), st.builds(RequestExtension, unit_id=units, reason=text, wanted=dates)),
    st.tuples(
        st.just("decide_extension"),
        st.builds(DecideExtension, unit_id=units, approve=st.booleans(), new_due=st.none() | dates, by=people),
    ),
    st.tuples(
        st.just("return_for_revision"),
        st.builds(ReturnForRevision, unit_id=units, reason=text, new_due=dates, by=people),
    ),
    st.tuples(st.just("waive"), st.builds(Waive, unit_id=units, reason=text, by=people)),
    st.tuples(st.just("revoke_links"), st.builds(RevokeLinks, unit_id=units, by=people)),
    st.tuples(st.just("forward_upward"), st.builds(OfficeAction, reason=text, by=people)),
    st.tuples(st.just("update_calendar"), st.builds(NewCalendar, calendar=calendars)),
    st.tuples(
        st.just("remind_now"),
        st.builds(
            RemindNow,
            key=st.sampled_from(["click-0001", "click-0002"]) | st.uuids().map(lambda u: u.hex),
            unit_ids=st.lists(units, max_size=5),
            note=st.text(max_size=40),
            urgent=st.booleans(),
            by=people,
        ),
    ),
    st.tuples(st.just("amend_units"), amend_calls),
)

lead_units = st.sampled_from([CUSTOMS.id, MARKET.id, POLICE.id, AGRICULTURE.id, "nobody"])
targets = st.sampled_from([MARKET, POLICE, AGRICULTURE, PROCURATORATE, unit("yaan-new", "新单位")])
tracks = st.none() | lead_units
LEAD_CALLS = st.one_of(
    st.tuples(st.just("sign_for"), st.builds(SignFor, unit_id=lead_units, track=tracks)),
    st.tuples(
        st.just("decide"),
        st.builds(
            lambda u, d, to, t: Decide(
                unit_id=u,
                decision=d,
                reason="理由",
                to=to if d in (Decision.TRANSFER, Decision.POLICE) else None,
                track=t,
            ),
            lead_units,
            st.sampled_from(list(Decision)),
            targets,
            tracks,
        ),
    ),
    st.tuples(st.just("give_feedback"), st.builds(GiveFeedback, unit_id=lead_units, text=text, track=tracks)),
    st.tuples(st.just("approve_transfer"), st.builds(Approve, unit_id=lead_units, approve=st.booleans(), reason=text)),
    st.tuples(st.just("transfer"), st.builds(Transfer, unit_id=lead_units, track=tracks)),
    st.tuples(st.just("request_reconsideration"), st.builds(RequestReconsideration, unit_id=lead_units, reason=text)),
    st.tuples(st.just("hand_over"), st.builds(HandOver, unit_id=lead_units, track=tracks)),
    st.tuples(st.just("involve"), st.builds(Involve, unit=targets)),
    st.tuples(st.just("close"), st.builds(CloseLead, unit_id=lead_units, result=text, track=tracks)),
    st.tuples(st.just("update_calendar"), st.builds(NewCalendar, calendar=calendars)),
    st.tuples(
        st.just("request_extension"),
        st.builds(
            RequestLeadExtension,
            unit_id=lead_units,
            stage=st.none() | st.sampled_from(list(StageName)),
            days=st.integers(1, 366),
            reason=text,
            track=tracks,
        ),
    ),
    st.tuples(
        st.just("decide_extension"),
        st.builds(
            DecideLeadExtension,
            unit_id=lead_units,
            stage=st.none() | st.sampled_from(list(StageName)),
            approve=st.booleans(),
            days=st.none() | st.integers(1, 366),
            reason=st.text(max_size=20),
            track=tracks,
        ),
    ),
    st.tuples(st.just("revoke_links"), st.builds(RevokeLinks, unit_id=lead_units, reason=text, by=people)),
)


async def _call(handle: WorkflowHandle[Any, Any], name: str, arg: object) -> str:
    """'applied' or 'refused'; anything else (a failed task, a timeout) propagates and fails the test."""
    try:
        await asyncio.wait_for(handle.execute_update(name, arg), timeout=15)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
    except RPCError as err:
        # A lead can legitimately end under generated calls (e.g. the transfer refused: every track
        # over); the server then refuses further calls. Only a normal completion counts as that.
        desc = await handle.describe()
        if err.status is RPCStatusCode.NOT_FOUND and desc.status is WorkflowExecutionStatus.COMPLETED:
            return "after_completion"
        raise
    else:
        return "applied"
    assert isinstance(cause, ApplicationError) and cause.type == "Rejected", repr(cause)
    assert cause.message, "a refusal without a reason"
    return "refused"


def _drive(loop: asyncio.AbstractEventLoop, handle: WorkflowHandle[Any, Any], calls: Any, seen: Counter[str]) -> None:
    def run(coro: Coroutine[Any, Any, str]) -> str:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(call=calls)
    def one(call: tuple[str, object]) -> None:
        name, arg = call
        outcome = run(_call(handle, name, arg))
        seen[f"{name}:{outcome}"] += 1

    one()


async def _no_failed_task(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, f"workflow task failed: {failed[0].workflow_task_failed_event_attributes.failure.message}"


class TestEveryUpdateRefusedOrApplied:
    async def test_reporting_cycle(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Generated calls to every ReportingCycle Update: each applied or refused, no workflow task fails,
        and `close` (driven last, since it ends the cycle) too."""
        client: Client = dev_server_env.client
        p = plan(4)  # u4 is never called: the cycle cannot finish (and end) while the calls run
        inp = cycle_input(p, dt.datetime.now(dt.UTC))
        assert inp.spec is not None
        seen: Counter[str] = Counter()
        async with running_worker(client, cycle_settings):
            handle = await client.start_workflow(
                "ReportingCycle",
                inp,
                id=f"{inp.spec.cycle_id}:{dt.datetime.now().strftime('%H%M%S%f')}",
                task_queue=cycle_settings.temporal.task_queue,
                result_type=CycleStatus,
            )
            await asyncio.to_thread(_drive, asyncio.get_running_loop(), handle, CYCLE_CALLS, seen)
            await _no_failed_task(handle)
            await handle.query("get_status", result_type=CycleStatus)  # still answers
            assert await _call(handle, "close", OfficeAction(reason="test over", by="op")) == "applied"
            await handle.result()
            await _no_failed_task(handle)
        print(f"ReportingCycle: {sum(seen.values())} generated calls: {dict(sorted(seen.items()))}")
        names = {k.split(":")[0] for k in seen}
        assert names >= {"submit_report", "request_extension", "decide_extension", "return_for_revision", "waive"}
        assert seen["submit_report:applied"] and seen["request_extension:refused"]
        assert seen["update_calendar:refused"], "no generated calendar was refused"
        assert seen["amend_units:applied"] and seen["amend_units:refused"]

    async def test_lead_referral(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Generated calls to every LeadReferral Update: each applied or refused, no workflow task fails."""
        client: Client = dev_server_env.client
        now = dt.datetime.now(dt.UTC)
        seen: Counter[str] = Counter()
        async with running_worker(client, cycle_settings):
            handle = await client.start_workflow(
                "LeadReferral",
                lead_input(now, lead_id=f"lead:prop:{now.strftime('%H%M%S%f')}"),
                id=f"lead:prop:{now.strftime('%H%M%S%f')}",
                task_queue=cycle_settings.temporal.task_queue,
                result_type=LeadStatus,
            )
            await asyncio.to_thread(_drive, asyncio.get_running_loop(), handle, LEAD_CALLS, seen)
            await _no_failed_task(handle)
            await handle.query("get_status", LeadStatusQuery(), result_type=LeadStatus)
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")
        print(f"LeadReferral: {sum(seen.values())} generated calls: {dict(sorted(seen.items()))}")
        assert any(k.endswith(":applied") for k in seen) and any(k.endswith(":refused") for k in seen)
