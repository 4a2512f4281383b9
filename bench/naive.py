"""The baseline: what a Temporal user writes first — one workflow per unit, its own timers, one activity per mail.

`NaiveUnitReminder` walks the same ladder (`timeline.deadline_ladder`) and sends
the same notifications (`cycle_notices`) as `ReportingCycle`, so the benchmark
compares designs, not features: here every unit sleeps on its own timers and
every message is its own activity (and its own SMTP session). It runs on its own
task queue and is never registered by the duban worker.
"""

import contextlib
import datetime as dt

from pydantic import Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain import cycle_notices as notices
    from domain import timeline
    from domain.timeline import ItemKind
    from schemas.base import Model, UtcDateTime
    from schemas.cycle import CycleSpec, Receipt, SubmitReport, UnitState
    from schemas.notify import BatchResult, Notification, Template

NAIVE_WORKFLOW = "NaiveUnitReminder"
NAIVE_ACTIVITY = "naive_send_mail"
MAIL_RETRY = RetryPolicy(initial_interval=dt.timedelta(seconds=2), maximum_interval=dt.timedelta(minutes=5))
# How long a unit that missed every rung may still hand in late (the cycle's keep-open period).
KEEP_OPEN = dt.timedelta(days=30)


class NaiveInput(Model):
    """One unit's obligation: a cycle spec holding just this unit."""

    spec: CycleSpec


class NaiveMail(Model):
    scope: str
    notification: Notification


class NaiveResult(Model):
    unit_id: str
    submitted_at: UtcDateTime | None = None
    mails: int = 0
    steps: list[str] = Field(default_factory=list)


@workflow.defn(name=NAIVE_WORKFLOW)
class NaiveUnitReminder:
    @workflow.init
    def __init__(self, input: NaiveInput) -> None:
        self.spec = input.spec
        self.unit = UnitState(unit_id=input.spec.units[0].id, due=timeline.unit_due(input.spec))
        self.submitted_at: dt.datetime | None = None
        self.result = NaiveResult(unit_id=self.unit.unit_id)

    @workflow.run
    async def run(self, input: NaiveInput) -> NaiveResult:
        await self._send_each(notices.unit_message(self.spec, self.unit, "notice", Template.NOTICE, invite=True))
        for item in timeline.deadline_ladder(self.spec, self.unit.due, self.spec.opened_at):
            await self._sleep_until(item.at)
            if self.submitted_at is not None:
                break
            await self._send_each(self._messages(item))
            self.result.steps.append(item.step)
        if self.submitted_at is None:
            await self._sleep_until(self.unit.due.at + KEEP_OPEN)
        if self.submitted_at is not None:
            receipt = f"receipt-{self.unit.unit_id}"
            await self._send_each(notices.unit_message(self.spec, self.unit, receipt, Template.RECEIPT))
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.result.submitted_at = self.submitted_at
        return self.result

    async def _sleep_until(self, at: dt.datetime) -> None:
        # A timeout is the timer firing; a submission wakes the unit early.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.submitted_at is not None,
                timeout=max(at - workflow.now(), dt.timedelta(milliseconds=1)),
            )

    def _messages(self, item: timeline.AgendaItem) -> list[Notification]:
        if item.kind is ItemKind.REMIND:
            return notices.unit_message(self.spec, self.unit, item.step, Template.REMINDER)
        if item.kind is ItemKind.DUE:
            return notices.unit_message(self.spec, self.unit, "overdue", Template.OVERDUE)
        now = workflow.now()
        late = [(self.unit, timeline.days_late(self.unit.due.at, now, self.unit.due.tz))]
        return notices.escalation_messages(self.spec, item.step, item.index, late, now.strftime("%Y%m%dT%H%M"))

    async def _send_each(self, messages: list[Notification]) -> None:
        for n in messages:
            await workflow.execute_activity(
                NAIVE_ACTIVITY,
                NaiveMail(scope=workflow.info().workflow_id, notification=n),
                result_type=BatchResult,
                start_to_close_timeout=dt.timedelta(minutes=1),
                retry_policy=MAIL_RETRY,
            )
            self.result.mails += 1

    @workflow.update
    def submit_report(self, call: SubmitReport) -> Receipt:
        now = workflow.now()
        if self.submitted_at is None:
            self.submitted_at = now
        return Receipt(
            cycle_id=workflow.info().workflow_id,
            unit_id=self.unit.unit_id,
            accepted_at=now,
            late=now > self.unit.due.at,
            message="已收到",
        )

    @submit_report.validator
    def validate_submit_report(self, call: SubmitReport) -> None:
        if call.unit_id != self.unit.unit_id:
            raise ValueError(f"this workflow is unit {self.unit.unit_id}, not {call.unit_id}")

    @workflow.query
    def get_status(self) -> NaiveResult:
        return self.result
