"""The plan preview against a real run: a cycle on the time-skipping server acts at exactly the previewed moments.

The cycle is opened the way a Schedule opens it (a template; the workflow fixes the
period, loads the holiday data and opens at `workflow.now()`), nobody reports, and
the run goes to its end. Every moment it acted at is collected from what it
recorded — each unit's timeline (`get_unit`), the office reminders from the mail
batches in its history, the forward and close moments from its status — and
compared with `cycle_preview` of the same spec: the same (unit, step) items, each
at its previewed moment.

"At" means: not before it, and within timer latency after it. A workflow's timer
starts when its workflow task completes, a few milliseconds after the
`workflow.now()` it was computed from, so on the test server each item fires
~30 ms after its moment (the ladder's moments are whole minutes; nobody can see
the difference, but an exact-equality test would be testing Temporal, not us).
The notice is exact: the cycle opens at `workflow.now()`.
"""

import datetime as dt

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.holidays import load_calendar
from domain import cycle_spec
from domain.preview import cycle_preview
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import CycleInput, CycleStatus, UnitQuery, UnitView
from schemas.notify import MailBatch
from schemas.plan import DueSpec, EscalationStep, Obligation, Recipient
from tests.plans import ladder_obligation, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings

Moment = tuple[dt.datetime, str, str]  # (at, unit id or "", agenda step)
TIMER_LATENCY = dt.timedelta(seconds=1)


def minutes_obligation() -> Obligation:
    """The demo plan's shape: exact-moment rules and urgent rungs (not held to the send window)."""
    return ladder_obligation(
        unit_due=DueSpec(after=DueRule(kind=RuleKind.HOURS, n=30)),
        upward_due=DueSpec(after=DueRule(kind=RuleKind.HOURS, n=20)),
        reminders=[
            LadderStep(key="4h", offset=4, unit=StepUnit.HOURS, urgent=True),
            LadderStep(key="1d", offset=1, unit=StepUnit.DAYS),
        ],
        escalations=[
            EscalationStep(
                step=LadderStep(key="leader", offset=90, unit=StepUnit.MINUTES, urgent=True),
                recipients=[Recipient.UNIT_LEADER],
            ),
            EscalationStep(step=LadderStep(key="bulletin", offset=1), recipients=[Recipient.LEADERSHIP], bulletin=True),
        ],
        office_reminders=[LadderStep(key="office-2h", offset=2, unit=StepUnit.HOURS, urgent=True)],
    )


async def _acted(env: WorkflowEnvironment, handle: WorkflowHandle, units: list[str], final: CycleStatus) -> set[Moment]:
    """Every moment the run acted at, from what it recorded."""
    acted: set[Moment] = set()
    for unit_id in units:
        view = await handle.query("get_unit", UnitQuery(unit_id=unit_id), result_type=UnitView)
        for entry in view.state.timeline:
            acted.add((entry.at, unit_id, "due" if entry.what == "overdue" else entry.what))
        # The fired keys name the same steps: nothing acted on without a timeline entry.
        assert {f.split("@")[0] for f in view.state.fired} == {
            "due" if e.what == "overdue" else e.what for e in view.state.timeline if e.what != "notice"
        }
    history = await handle.fetch_history()
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = event.activity_task_scheduled_event_attributes
        if attrs.activity_type.name != "send_batch":
            continue
        (batch,) = await env.client.data_converter.decode(attrs.input.payloads, [MailBatch])
        for n in batch.notifications:
            step = n.key.split("/")[1]  # keys are <cycle>/<step>/<role>/<address>
            if step.startswith("office_remind:"):
                acted.add((batch.instant, "", step))
    assert final.forwarded_at is not None
    acted.add((final.forwarded_at, "", "forward"))
    acted.add((final.now, "", "close"))
    return acted


@pytest.mark.parametrize(
    "obligation",
    [pytest.param(ladder_obligation(), id="working-days"), pytest.param(minutes_obligation(), id="hours-urgent")],
)
async def test_a_scheduled_cycle_acts_at_exactly_the_previewed_moments(
    time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink, obligation: Obligation
) -> None:
    """Nobody reports: every notice, reminder, due moment, escalation, office reminder, forward and close."""
    env = time_skipping_env
    p = plan(3, obligation)
    template = cycle_spec.template_for(p, obligation)
    workflow_id = f"cycle:{p.id}:{p.office.id}:{obligation.id}:preview-{(await env.get_current_time()):%H%M%S%f}"
    async with running_worker(env.client, cycle_settings):
        handle = await env.client.start_workflow(
            "ReportingCycle",
            CycleInput(template=template),
            id=workflow_id,
            task_queue=cycle_settings.temporal.task_queue,
            result_type=CycleStatus,
        )
        final = await handle.result()
        acted = await _acted(env, handle, [u.id for u in p.units], final)

    # The preview of the cycle the Schedule opened: its opening moment is the notice's.
    opened_at = min(at for at, _, step in acted if step == "notice")
    period, year = cycle_spec.period_of(obligation, opened_at, p.timezone)
    calendar = load_calendar(cycle_spec.calendar_years(year), p.timezone)
    spec = cycle_spec.build_spec(template, period, year, opened_at, calendar, workflow_id)
    rows = cycle_preview(spec)
    previewed = {(r.unit_id, r.step): r.at for r in rows}
    ran = {(unit, step): at for at, unit, step in acted}

    assert final.period == period
    assert len(rows) == len(previewed) == len(acted), "an item appears twice"
    assert len(previewed) > 3 * 5
    assert sorted(set(ran) - set(previewed)) == [], "the run acted on an item the preview did not show"
    assert sorted(set(previewed) - set(ran)) == [], "the preview showed an item the run did not act on"
    off = {key: ran[key] - at for key, at in previewed.items() if not dt.timedelta(0) <= ran[key] - at < TIMER_LATENCY}
    assert off == {}, "acted away from the previewed moment"
    assert all(ran[(u.id, "notice")] == spec.opened_at for u in p.units)
