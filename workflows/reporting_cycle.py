"""`ReportingCycle`: one office, one period, every unit's report — told, reminded, chased, rolled up.

The run loop reads like the notice (通知): open → remind → due → escalate →
consolidate → forward → close. It works out the agenda (domain/timeline.py),
sleeps until its earliest item or until a call arrives, acts on what is due in
that order (`timeline.INSTANT_ORDER`), repeats. Update handlers only change
state and queue mail; the loop sends each instant's mail in batches
(workflows/outbox.py).

The cycle's stages (`CycleStage`) and each unit's phase (`UnitPhase`):

    open ──(every unit's deadline passed)──→ consolidating ──(roll-up forwarded)──→ forwarded ──→ closed
      │                                          │                                                 ↑
      └──────────(every unit settled: the roll-up goes up at once)───────────────────┘   keep-open end,
                                                                                          the office's close,
    unit:  pending ──submit──→ submitted ──return──→ returned ──submit──→ submitted      or all settled
              │  └──extension approved: new deadline, new ladder                          and forwarded
              └──waive──→ waived

    one unit's ladder: notice → remind … → due (overdue notice) → escalate rung 1 … n (n: 通报)
    the office's:      office_remind … (before its upward deadline) → forward (上报) → close
"""

import contextlib
import datetime as dt
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import amendment, chase, cycle_spec, timeline
    from domain import cycle_board as board
    from domain import cycle_notices as notices
    from domain import cycle_views as views
    from domain import submission_caps as caps
    from domain.timeline import AgendaItem, ItemKind, Step
    from schemas.activities import ArchiveActivity, HolidayActivity, RollupActivity
    from schemas.amendment import Amended, Amendment, AmendUnits, NewUnitsDue
    from schemas.archive import ArchivedCycle
    from schemas.board import CycleBoard, CycleBoardQuery
    from schemas.calendar import Due
    from schemas.cycle import (
        ActionResult,
        CycleInput,
        CycleSpec,
        CycleStage,
        CycleState,
        CycleStatus,
        CycleTemplate,
        CycleUnit,
        DecideExtension,
        ExtensionDecision,
        ExtensionRequest,
        HolidayRequest,
        LinksRevoked,
        NewCalendar,
        OfficeAction,
        Receipt,
        Reminded,
        RemindNow,
        RequestExtension,
        ReturnForRevision,
        RevokeLinks,
        Submission,
        SubmitReport,
        TimelineEntry,
        UnitPhase,
        UnitQuery,
        UnitRow,
        UnitState,
        UnitView,
        Waive,
    )
    from schemas.notify import MailBacklog, Notification, Template, UnitLine
    from schemas.plan import ReportKind
    from schemas.rollup import ForwardRequest, ForwardResult, RollupPackage, RollupRequest, RollupUnit
    from schemas.visibility import (
        CAMPAIGN,
        DUE_AT,
        ESCALATION_LEVEL,
        OFFICE,
        OVERDUE_UNITS,
        PENDING_UNITS,
        PERIOD,
        STAGE,
    )
    from workflows.outbox import DELIVERED, MAIL_RETRY, MailOutbox

ENGINE = "duban"
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# The roll-up's steps: a few tries over a few minutes, then the failure is recorded and the cycle goes on.
BOUNDED_RETRY = RetryPolicy(
    initial_interval=dt.timedelta(seconds=2), maximum_interval=dt.timedelta(minutes=1), maximum_attempts=5
)
# The archive at close is retried until the records database takes it: a closed cycle completes only
# once what the office collected is kept beyond Temporal's retention.
ARCHIVE_TIMEOUT = dt.timedelta(minutes=2)
ARCHIVE_RETRY = RetryPolicy(initial_interval=dt.timedelta(seconds=5), maximum_interval=dt.timedelta(minutes=10))
MAX_PROBLEMS = 20


def _rejected(message: str) -> ApplicationError:
    return ApplicationError(message, type="Rejected", non_retryable=True)


@workflow.defn(name="ReportingCycle")
class ReportingCycle:
    @workflow.init
    def __init__(self, input: CycleInput) -> None:
        self._wake = False
        self._published: dict[str, object] = {}
        self._mail = MailOutbox()
        self._declared_order = False  # the `instant-order` branch (see _act_on_due_items)
        if input.spec is not None:
            self._start(input.spec, input.state)

    def _start(self, spec: CycleSpec, state: CycleState | None) -> None:
        self.spec = spec
        self.state = state or self._opening_state()

    def _opening_state(self) -> CycleState:
        unit_due = timeline.unit_due(self.spec)
        units = {u.id: UnitState(unit_id=u.id, due=unit_due) for u in self.spec.units}
        return CycleState(units=units, unit_due=unit_due, upward_due=timeline.upward_due(self.spec, unit_due))

    async def _open_from_schedule(self, template: CycleTemplate) -> None:
        """A Schedule opened this cycle: the period follows the scheduled time, holidays come by activity."""
        info = workflow.info()
        scheduled = info.typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        period, year = cycle_spec.period_of(template.obligation, scheduled, template.tz)
        calendar = await workflow.execute_activity_method(
            HolidayActivity.load_holidays,
            HolidayRequest(years=cycle_spec.calendar_years(year), tz=template.tz),
            start_to_close_timeout=dt.timedelta(minutes=1),
            summary="load holiday data for the period",
        )
        self._start(cycle_spec.build_spec(template, period, year, workflow.now(), calendar, info.workflow_id), None)

    # ---- the process ---------------------------------------------------------------------

    @workflow.run
    async def run(self, input: CycleInput) -> CycleStatus:
        if input.spec is None:
            if input.template is None:
                raise ApplicationError("a cycle needs a spec or a template", type="BadInput", non_retryable=True)
            await self._open_from_schedule(input.template)
        if input.state is None:
            self._open()
        while self.state.stage is not CycleStage.CLOSED:
            # From here on, `_wake` turning True means a call arrived while the loop was busy.
            self._wake = False
            await self._send_outbox()
            now = workflow.now()
            if await self._act_on_due_items(now):
                continue
            self._publish(now)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._send_outbox()
                workflow.continue_as_new(CycleInput(spec=self.spec, state=self.state))
            await self._sleep_until_next(now)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._send_outbox()
        self._publish(workflow.now())
        if workflow.patched("archive-at-close"):
            await self._archive()
        return self._status()

    def _open(self) -> None:
        now = workflow.now()
        for unit in self.state.units.values():
            self._record(unit, "notice")
            self._queue(notices.unit_message(self.spec, unit, "notice", Template.NOTICE, invite=True))
        workflow.logger.info("cycle opened", extra={"cycle_id": self.spec.cycle_id, "units": len(self.state.units)})
        self.state.audit.append(TimelineEntry(at=now, what="opened", by=ENGINE))

    async def _sleep_until_next(self, now: dt.datetime) -> None:
        # A call that arrived during a mail batch or the roll-up (a submission's receipt, a close)
        # must not wait for the next timer: go round again. Patched so older runs replay unchanged.
        if self._wake and workflow.patched("wake-while-busy"):
            return
        items = timeline.pending_items(self.spec, self.state)
        self._wake = False
        if not items:
            await workflow.wait_condition(lambda: self._wake)
            return
        nxt = items[0]
        # A timeout is the timer firing: the next turn of the loop acts on what is due.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._wake,
                timeout=max(nxt.at - now, dt.timedelta(milliseconds=1)),
                timeout_summary=f"{nxt.summary} at {nxt.at.isoformat()}",
            )

    async def _act_on_due_items(self, now: dt.datetime) -> bool:
        """Act on every item due at or before now, in the notice's order; True when anything happened."""
        self._consolidate(now)
        due = [i for i in timeline.pending_items(self.spec, self.state) if i.at <= now]
        requested = []
        if self._supplement_due() or self.state.forward_requested:
            requested.append(AgendaItem(now, ItemKind.FORWARD, "forward"))
        if not due and not requested:
            if self._finished():
                self._close("every unit settled and the roll-up forwarded")
                return True
            return False
        # Patched: older runs acted item by item in the sort order of the kinds' names, and sent the
        # whole instant's mail afterwards.
        if workflow.patched("instant-order"):
            self._declared_order = True
            for step in timeline.due_steps(due + requested):
                await self._take(step, now)
                # Each step's mail goes out before the next step is worked out: one workflow activation
                # builds one step's messages (a 1,000-unit rung: ~2,000), never a whole instant's.
                await self._send_outbox()
        else:
            for step in timeline.legacy_due_steps(due, requested):
                await self._take(step, now)
        return True

    async def _take(self, step: Step, now: dt.datetime) -> None:
        """One step of the notice's order (`timeline.INSTANT_ORDER`)."""
        if step.kind is ItemKind.REMIND:
            self._remind(step.items)
        elif step.kind is ItemKind.DUE:
            self._mark_overdue(step.items)
        elif step.kind is ItemKind.ESCALATE:
            self._escalate(step.items, now)
        elif step.kind is ItemKind.OFFICE_REMIND:
            self._remind_office(step.items, now)
        elif step.kind is ItemKind.FORWARD:
            await self._forward(now)  # once, however many reasons to forward fell due together
        elif step.kind is ItemKind.CLOSE:
            self._close("the cycle's keep-open period ended")

    def _remind(self, items: tuple[AgendaItem, ...]) -> None:
        """提醒: units not yet done hear of their deadline (on its day: 今日到期)."""
        for item in items:
            unit = self.state.units[item.unit_id or ""]
            template = Template.DUE_TODAY if self._same_day(item.at, unit.due) else Template.REMINDER
            self._queue(notices.unit_message(self.spec, unit, item.step, template))
            self._fire(unit, item.step)

    def _mark_overdue(self, items: tuple[AgendaItem, ...]) -> None:
        """The due moment: a unit still missing is told it is overdue (逾期)."""
        for item in items:
            unit = self.state.units[item.unit_id or ""]
            self._queue(notices.unit_message(self.spec, unit, "overdue", Template.OVERDUE))
            self._fire(unit, "due", what="overdue")

    def _escalate(self, rung: tuple[AgendaItem, ...], now: dt.datetime) -> None:
        """督办: one rung of the ladder for all its late units, listed in the plan's order as in a 通报."""
        first = rung[0]
        order = self._plan_order()
        units = sorted((self.state.units[i.unit_id or ""] for i in rung), key=lambda u: order[u.unit_id])
        late = [(u, timeline.days_late(u.due.at, now, u.due.tz)) for u in units]
        tag = now.strftime("%Y%m%dT%H%M")
        gone = frozenset(uid for uid, u in self.state.units.items() if u.phase is UnitPhase.WITHDRAWN)
        self._queue(notices.escalation_messages(self.spec, first.step, first.index, late, tag, gone))
        for unit in units:
            unit.escalation_level = max(unit.escalation_level, first.index + 1)
            self._fire(unit, first.step)

    def _consolidate(self, now: dt.datetime) -> None:
        """Every unit's deadline has passed (or the unit is done): the office consolidates (汇总)."""
        if self.state.stage is CycleStage.OPEN and self._unit_deadline_passed(now):
            self.state.stage = CycleStage.CONSOLIDATING

    def _remind_office(self, items: tuple[AgendaItem, ...], now: dt.datetime) -> None:
        """The office's own upward deadline approaches: which units are still missing."""
        for item in items:
            missing = [self._line(u, now) for u in self.state.units.values() if not timeline.settled(u)]
            self._queue(
                notices.office_message(
                    self.spec, self.state, item.step, Template.OFFICE_REMINDER, missing_units=missing
                )
            )
            self.state.fired.append(item.step)

    def _plan_order(self) -> dict[str, int]:
        return {u.id: n for n, u in enumerate(self.spec.units)}

    def _unit_deadline_passed(self, now: dt.datetime) -> bool:
        units = self.state.units.values()
        return all(timeline.settled(u) or now > u.due.at for u in units)

    def _same_day(self, at: dt.datetime, due: Due) -> bool:
        return timeline.local_date(at, due.tz) == timeline.local_date(due.at, due.tz)

    def _line(self, unit: UnitState, now: dt.datetime) -> UnitLine:
        line = notices.late_line(self.spec, unit, timeline.days_late(unit.due.at, now, unit.due.tz))
        line.status = unit.phase.value
        return line

    # ---- roll-up ---------------------------------------------------------------------------

    def _supplement_due(self) -> bool:
        """After forwarding, late reports go up as a supplement: each as it arrives (patched; before,
        only once every unit had settled, so one unit that never reported held back all the others)."""
        if self.state.forwarded_at is None:
            return False
        # A failed attempt counts too: the next late report tries again, not every turn of the loop.
        forwarded = max(self.state.forwarded_at, self.state.forward_tried_at or self.state.forwarded_at)
        if not any(s.submitted_at > forwarded for u in self.state.units.values() for s in u.submissions):
            return False
        return all(timeline.settled(u) for u in self.state.units.values()) or workflow.patched("supplement-each")

    def _finished(self) -> bool:
        return self.state.forwarded_at is not None and all(timeline.settled(u) for u in self.state.units.values())

    async def _forward(self, now: dt.datetime) -> None:
        """Compile the package and send it up. A broken dependency (a file gone from the store, an upper
        office that does not answer, a mail server that refuses) is recorded, never waited on."""
        self.state.forward_requested = False
        # Patched: older runs retried forever and recorded "forwarded" before the mail went out.
        confirmed = workflow.patched("rollup-confirmed")
        if confirmed:
            self.state.problems = []  # the board shows what this roll-up met
            self.state.forward_tried_at = now
        try:
            package = await workflow.execute_activity_method(
                RollupActivity.compile_rollup,
                self._rollup_request(now),
                start_to_close_timeout=dt.timedelta(minutes=5),
                retry_policy=BOUNDED_RETRY if confirmed else MAIL_RETRY,
                summary="compile the roll-up package",
            )
        except ActivityError as err:
            self.state.fired.append("forward")  # not again by itself: `duban forward` tries again
            self._problem(now, "rollup_failed", f"the roll-up could not be compiled: {err.cause}")
            return
        self.state.rollup = package.package
        result = await self._deliver(package, confirmed)
        self.state.fired.append("forward")
        broken = f"; {len(package.broken_files)} file(s) missing from the store" if package.broken_files else ""
        for item in package.broken_files:
            self._problem(now, "rollup_incomplete", item)
        if confirmed and not result.delivered and self.spec.upper_office is not None:
            self._problem(now, "forward_failed", f"{result.how}: {result.detail}{broken}")
            return
        self.state.forwarded_at = now
        if self.state.stage in (CycleStage.OPEN, CycleStage.CONSOLIDATING):
            self.state.stage = CycleStage.FORWARDED
        missing = ", ".join(package.missing) or "none"
        self.state.audit.append(
            TimelineEntry(
                at=now,
                what="forwarded",
                by=ENGINE,
                detail=f"{result.how}: {result.detail}; missing: {missing}{broken}",
            )
        )

    async def _deliver(self, package: RollupPackage, confirmed: bool) -> ForwardResult:
        """Into the upper office's cycle when it runs here, else by mail; `delivered` only once it is."""
        upper = self.spec.upper_office
        if upper is None:
            return ForwardResult(delivered=False, how="none", detail="no upper office in the plan")
        request = ForwardRequest(
            spec_cycle_id=self.spec.cycle_id,
            upper=upper,
            period=self.spec.period,
            obligation_id=self.spec.obligation.id,
            obligation_kind=self.spec.obligation.kind,
            package=package,
        )
        try:
            result = await workflow.execute_activity_method(
                RollupActivity.forward_upward,
                request,
                start_to_close_timeout=dt.timedelta(minutes=2),
                retry_policy=BOUNDED_RETRY if confirmed else MAIL_RETRY,
                summary="submit the roll-up to the upper office's cycle",
            )
        except ActivityError as err:
            result = ForwardResult(
                delivered=False, how="cycle", detail=f"the upper office did not take it: {err.cause}"
            )
        if result.delivered or not upper.email:
            return result
        messages = notices.rollup_message(self.spec, self.state, package)
        if not confirmed:
            self._queue(messages)
            return ForwardResult(delivered=True, how="mail", detail=upper.email)
        sent = await self._mail.send(messages, self.state.shared, self.spec.cycle_id, self._mail_record)
        refused = [d for d in sent.deliveries if d.status not in DELIVERED] if sent else []
        if sent is None or refused:
            why = "; ".join(f"{d.status.value} {d.detail}" for d in refused) or "the mail activity failed"
            return ForwardResult(delivered=False, how="mail", detail=f"{upper.email}: {why}")
        return ForwardResult(delivered=True, how="mail", detail=upper.email)

    def _problem(self, now: dt.datetime, what: str, detail: str) -> None:
        """Something the office must see: in the audit trail, and on the board until the next roll-up."""
        self.state.audit.append(TimelineEntry(at=now, what=what, by=ENGINE, detail=detail))
        # Bounded: the board shows the latest; the audit trail keeps them all.
        self.state.problems = [*self.state.problems, f"{what}: {detail}"][-MAX_PROBLEMS:]
        workflow.logger.warning(what, extra={"cycle_id": self.spec.cycle_id})

    def _rollup_request(self, now: dt.datetime) -> RollupRequest:
        units = []
        for cu in self.spec.units:
            st = self.state.units[cu.id]
            current = [s for s in st.submissions if not s.replaced]
            units.append(
                RollupUnit(
                    unit_id=cu.id,
                    unit_name=cu.name,
                    phase=st.phase,
                    submissions=current,
                    waived_reason=st.waived_reason,
                    due=st.due,
                )
            )
        return RollupRequest(
            cycle_id=self.spec.cycle_id,
            campaign_title=self.spec.campaign_title,
            office_name=self.spec.office.name,
            period=self.spec.period,
            obligation_title=self.spec.obligation.title,
            document=self.spec.document,
            compiled_at=now,
            units=units,
            upward_due=self.state.upward_due,
        )

    async def _archive(self) -> None:
        """Keep the closed cycle in the records database, for when Temporal's retention has dropped it."""
        closed = ArchivedCycle(spec=self.spec, state=self.state, status=self._status())
        await workflow.execute_activity_method(
            ArchiveActivity.archive_cycle,
            closed,
            start_to_close_timeout=ARCHIVE_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
            summary="archive the closed cycle",
        )

    def _close(self, reason: str) -> None:
        self.state.stage = CycleStage.CLOSED
        self.state.close_reason = reason
        self.state.fired.append("close")
        self.state.audit.append(TimelineEntry(at=workflow.now(), what="closed", by=ENGINE, detail=reason))

    # ---- mail ------------------------------------------------------------------------------

    def _queue(self, messages: list[Notification]) -> None:
        # Patched: older runs carried a list message's whole context once per recipient.
        if any(n.context.late_units or n.context.missing_units for n in messages) and workflow.patched("lists-once"):
            messages, shared = notices.share_lists(messages, repeated_only=self._declared_order)
            self.state.shared.update(shared)
        self.state.outbox.extend(messages)
        self._mail.owed(workflow.now())
        self._wake = True

    async def _send_outbox(self) -> None:
        await self._mail.send_all(self.state.outbox, self.state.shared, self.spec.cycle_id, self._mail_record)
        self.state.shared = {}
        self._mail.settled()

    def _mail_record(self, what: str, detail: str) -> None:
        self.state.audit.append(TimelineEntry(at=workflow.now(), what=what, by=ENGINE, detail=detail))

    # ---- state helpers ---------------------------------------------------------------------

    def _record(self, unit: UnitState, what: str, by: str = ENGINE, detail: str = "") -> None:
        unit.timeline.append(TimelineEntry(at=workflow.now(), what=what, by=by, detail=detail))

    def _fire(self, unit: UnitState, step: str, what: str | None = None) -> None:
        unit.fired.append(timeline.fired_key(step, unit.due_version))
        self._record(unit, what or step)

    def _move_due(self, unit: UnitState, due: Due, base: bool) -> None:
        unit.due = due
        unit.base_due = base
        unit.due_version += 1
        unit.due_set_at = workflow.now()

    def _publish(self, now: dt.datetime) -> None:
        """Keep search attributes and the Temporal UI's details current, touching them only on change."""
        units = self.state.units.values()
        pending = sorted(u.unit_id for u in units if not timeline.settled(u))
        overdue = sorted(u.unit_id for u in units if timeline.is_overdue(u, now))
        open_dues = [u.due.at for u in units if not timeline.settled(u)]
        if self.state.forwarded_at is None and self.state.upward_due is not None:
            open_dues.append(self.state.upward_due.at)
        due = min(open_dues) if open_dues else None
        level = max((u.escalation_level for u in units), default=0)
        values: dict[str, object] = {
            "stage": self.state.stage.value,
            "pending": pending,
            "overdue": overdue,
            "due": due,
            "level": level,
        }
        if values == self._published:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            CAMPAIGN.value_set(self.spec.campaign_id),
            OFFICE.value_set(self.spec.office.id),
            PERIOD.value_set(self.spec.period),
            STAGE.value_set(self.state.stage.value),
            PENDING_UNITS.value_set(pending),
            OVERDUE_UNITS.value_set(overdue),
            ESCALATION_LEVEL.value_set(level),
            DUE_AT.value_set(due) if due else DUE_AT.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)
        self._published = values
        counts = self._counts(now)
        workflow.set_current_details(
            f"**{self.spec.obligation.title}** {self.spec.period} — stage `{self.state.stage.value}`\n\n"
            f"submitted {counts['submitted']} · pending {counts['pending']} · overdue {counts['overdue']}"
            f" · waived {counts['waived']} of {counts['total']}"
        )

    # ---- queries ---------------------------------------------------------------------------

    @workflow.query
    def get_status(self) -> CycleStatus:
        self._ready()
        return self._status()

    @workflow.query
    def get_board(self, query: CycleBoardQuery) -> CycleBoard:
        """The board's figures and the lights of at most `max_units` units (the most urgent): a small
        part of `get_status` to build and to send, for a board of ten 1,000-unit cycles (bench, board)."""
        self._ready()
        return board.cycle_board(self.spec, self.state, workflow.now(), query.max_units)

    @workflow.query
    def get_mail_backlog(self) -> MailBacklog:
        if not hasattr(self, "state"):  # still opening: nothing queued yet
            return MailBacklog()
        return self._mail.backlog(len(self.state.outbox))

    @workflow.query
    def get_unit(self, query: UnitQuery) -> UnitView:
        self._ready()
        if query.unit_id not in self.state.units:
            raise _rejected(f"unknown unit {query.unit_id!r} in cycle {self.spec.cycle_id}")
        return views.unit_view(self.spec, self.state, query.unit_id, workflow.now())

    @workflow.query
    def get_state(self) -> CycleState:
        """Everything the cycle holds: each unit's timeline, fired steps and link state, the audit
        trail, the outbox. For operators' diagnostics and for tests that prove a refused call
        changed nothing (the board's `get_status` shows only a summary)."""
        self._ready()
        return self.state

    @workflow.query
    def get_rollup_request(self) -> RollupRequest:
        """What a roll-up compiled now would hold: the office downloads its current package and 汇总报告
        at any time, before forwarding too (a query: nothing is recorded, running histories are untouched)."""
        self._ready()
        return self._rollup_request(workflow.now())

    def _status(self) -> CycleStatus:
        return views.cycle_status(self.spec, self.state, workflow.now())

    def _counts(self, now: dt.datetime) -> dict[str, int]:
        return views.counts(self.state, now)

    def _row(self, unit: UnitState, now: dt.datetime) -> UnitRow:
        return views.unit_row(self.spec, unit, now)

    # ---- updates: units --------------------------------------------------------------------

    def _ready(self) -> None:
        if not hasattr(self, "state"):
            raise _rejected("the cycle is still opening; try again in a moment")

    def _unit_for_call(self, unit_id: str) -> UnitState:
        self._ready()
        if self.state.stage is CycleStage.CLOSED:
            raise _rejected(f"cycle {self.spec.cycle_id} is closed")
        unit = self.state.units.get(unit_id)
        if unit is None:
            raise _rejected(f"unknown unit {unit_id!r} in cycle {self.spec.cycle_id}")
        return unit

    @workflow.update
    def submit_report(self, call: SubmitReport) -> Receipt:
        unit = self.state.units[call.unit_id]
        now = workflow.now()
        kind_subs = [s for s in unit.submissions if s.kind is call.kind]
        if call.kind is ReportKind.SUMMARY:
            # A summary replaces the previous version; the old one stays in the history.
            for s in kind_subs:
                s.replaced = True
        self.state.receipts_issued += 1
        receipt_no = f"{self.spec.period}-{call.unit_id}-{self.state.receipts_issued:04d}"
        late = now > unit.due.at
        unit.submissions.append(
            Submission(
                receipt_no=receipt_no,
                version=len(kind_subs) + 1,
                kind=call.kind,
                title=call.title,
                body=call.body,
                attachments=call.attachments,
                submitted_at=now,
                late=late,
                by=call.by,
            )
        )
        current = [s for s in unit.submissions if s.kind is self.spec.obligation.kind and not s.replaced]
        if len(current) >= self.spec.obligation.min_reports:
            unit.phase = UnitPhase.SUBMITTED
            unit.extension = None
        self._record(
            unit,
            "submitted",
            by=call.by or call.unit_id,
            detail=f"{receipt_no} {call.kind.value}{' (late)' if late else ''}",
        )
        self._queue(
            notices.unit_message(self.spec, unit, f"receipt-{receipt_no}", Template.RECEIPT, receipt_no=receipt_no)
        )
        message = "已收到，逾期报送" if late else "已收到"
        return Receipt(
            cycle_id=self.spec.cycle_id,
            unit_id=call.unit_id,
            receipt_no=receipt_no,
            accepted_at=now,
            late=late,
            message=message,
            due=unit.due,
        )

    @submit_report.validator
    def validate_submit_report(self, call: SubmitReport) -> None:
        unit = self._unit_for_call(call.unit_id)
        if unit.phase is UnitPhase.WAIVED:
            raise _rejected(f"unit {call.unit_id} was exempted from this report ({unit.waived_reason})")
        if unit.phase is UnitPhase.WITHDRAWN:
            raise _rejected(f"unit {call.unit_id} was withdrawn from this cycle")
        reason = caps.refusal(self.state, unit, call)
        if reason:
            raise _rejected(reason)

    @workflow.update
    def request_extension(self, call: RequestExtension) -> Receipt:
        unit = self.state.units[call.unit_id]
        now = workflow.now()
        unit.extension = ExtensionRequest(reason=call.reason, wanted=call.wanted, requested_at=now, by=call.by)
        self._record(unit, "extension_requested", by=call.by or call.unit_id, detail=f"{call.wanted}: {call.reason}")
        # Patched: before, the request waited silently until someone opened the unit's page.
        if workflow.patched("extension-to-office"):
            step = f"extension-request-{len(unit.timeline)}"
            self._queue(notices.extension_request_message(self.spec, unit, step, call.reason, call.wanted))
        self._wake = True
        return Receipt(
            cycle_id=self.spec.cycle_id,
            unit_id=call.unit_id,
            accepted_at=now,
            message="延期申请已提交，等待办公室审批",
            due=unit.due,
        )

    @request_extension.validator
    def validate_request_extension(self, call: RequestExtension) -> None:
        unit = self._unit_for_call(call.unit_id)
        if timeline.settled(unit):
            raise _rejected(f"unit {call.unit_id} has nothing outstanding ({unit.phase.value})")
        if unit.extension is not None:
            raise _rejected(f"unit {call.unit_id} already has an extension request waiting for a decision")
        self._check_later_date(unit, call.wanted)

    def _check_later_date(self, unit: UnitState, day: dt.date) -> None:
        current = timeline.local_date(unit.due.at, unit.due.tz)
        if day <= current:
            raise _rejected(f"the new date {day} must be after the current due date {current}")
        self._check_settable(day)

    def _check_settable(self, day: dt.date) -> None:
        """Everything the handler will compute from the date: its deadline and that deadline's ladder. A date
        it cannot count (the lunar data ends in 2099) fails here, or the handler would fail the task forever."""
        try:
            due = timeline.settable_due(day, self.spec.calendar)
            timeline.deadline_ladder(self.spec, due, workflow.now())
        except (ValueError, OverflowError) as exc:
            raise _rejected(f"the date {day} cannot be used as a deadline: {exc}") from None

    # ---- updates: office -------------------------------------------------------------------

    @workflow.update
    def decide_extension(self, call: DecideExtension) -> ActionResult:
        unit = self.state.units[call.unit_id]
        previous = unit.due
        if call.approve:
            day = call.new_due or (unit.extension.wanted if unit.extension else None)
            assert day is not None  # the validator guarantees a date
            self._move_due(unit, timeline.fixed_due(day, self.spec.calendar), base=False)
            detail = f"approved: due {day}"
        else:
            detail = f"refused: {call.reason}"
        unit.extension = None
        what = "extension_approved" if call.approve else "extension_refused"
        self._record(unit, what, by=call.by, detail=detail)
        self._audit(call.by, f"extension {detail}", call.unit_id)
        # Patched: before, the mail carried no previous deadline, so a granted extension read "未获同意",
        # and the unit's page kept no decision once the request was cleared.
        dated = workflow.patched("extension-decision-dated")
        if dated:
            unit.extension_decision = ExtensionDecision(
                approved=call.approve, due=unit.due, reason=call.reason, decided_at=workflow.now(), by=call.by
            )
        self._queue(
            notices.unit_message(
                self.spec,
                unit,
                f"extension-{len(unit.timeline)}",
                Template.EXTENSION_DECIDED,
                invite=call.approve,
                reason=call.reason if dated else call.reason or detail,
                **({"previous_due": previous} if dated else {}),
            )
        )
        return ActionResult(cycle_id=self.spec.cycle_id, message=f"{call.unit_id}: extension {detail}")

    @decide_extension.validator
    def validate_decide_extension(self, call: DecideExtension) -> None:
        unit = self._unit_for_call(call.unit_id)
        if timeline.settled(unit):
            raise _rejected(f"unit {call.unit_id} has nothing outstanding ({unit.phase.value})")
        if not call.approve and unit.extension is None:
            raise _rejected(f"unit {call.unit_id} has no extension request to refuse")
        if not call.approve and not call.reason.strip():
            raise _rejected("a refusal needs a reason (the unit is told it)")
        if call.approve:
            day = call.new_due or (unit.extension.wanted if unit.extension else None)
            if day is None:
                raise _rejected("an approval needs the new due date")
            self._check_later_date(unit, day)

    @workflow.update
    def return_for_revision(self, call: ReturnForRevision) -> ActionResult:
        unit = self.state.units[call.unit_id]
        unit.phase = UnitPhase.RETURNED
        self._move_due(unit, timeline.fixed_due(call.new_due, self.spec.calendar), base=False)
        self._record(unit, "returned", by=call.by, detail=f"{call.reason}; due {call.new_due}")
        self._audit(call.by, f"returned for revision, due {call.new_due}", call.unit_id)
        self._queue(
            notices.unit_message(self.spec, unit, "returned", Template.RETURNED, invite=True, reason=call.reason)
        )
        return ActionResult(cycle_id=self.spec.cycle_id, message=f"{call.unit_id}: returned for revision")

    @return_for_revision.validator
    def validate_return_for_revision(self, call: ReturnForRevision) -> None:
        unit = self._unit_for_call(call.unit_id)
        if unit.phase is not UnitPhase.SUBMITTED:
            raise _rejected(f"unit {call.unit_id} has no accepted report to return ({unit.phase.value})")
        today = timeline.local_date(workflow.now(), self.spec.calendar.tz)
        if call.new_due < today:
            raise _rejected(f"the new due date {call.new_due} is in the past")
        self._check_settable(call.new_due)

    @workflow.update
    def waive(self, call: Waive) -> ActionResult:
        unit = self.state.units[call.unit_id]
        unit.phase = UnitPhase.WAIVED
        unit.waived_reason = call.reason
        unit.extension = None
        self._record(unit, "waived", by=call.by, detail=call.reason)
        self._audit(call.by, f"waived: {call.reason}", call.unit_id)
        self._wake = True
        return ActionResult(cycle_id=self.spec.cycle_id, message=f"{call.unit_id}: waived")

    @waive.validator
    def validate_waive(self, call: Waive) -> None:
        unit = self._unit_for_call(call.unit_id)
        if unit.phase in (UnitPhase.WAIVED, UnitPhase.SUBMITTED, UnitPhase.WITHDRAWN):
            raise _rejected(f"unit {call.unit_id} is already {unit.phase.value}")

    @workflow.update
    def revoke_links(self, call: RevokeLinks) -> LinksRevoked:
        """The unit's links made before now stop opening; the portal and the feed compare each link's issue time."""
        unit = self.state.units[call.unit_id]
        now = workflow.now()
        unit.links_valid_from = now
        self._record(unit, "links_revoked", by=call.by, detail=call.reason)
        self._audit(call.by, f"links revoked: {call.reason}" if call.reason else "links revoked", call.unit_id)
        return LinksRevoked(
            cycle_id=self.spec.cycle_id,
            unit_id=call.unit_id,
            links_valid_from=now,
            message=f"{call.unit_id}: links made before {now.isoformat(timespec='seconds')} no longer open",
        )

    @revoke_links.validator
    def validate_revoke_links(self, call: RevokeLinks) -> None:
        # Unlike the other office actions, a closed cycle still takes this: the portal keeps showing
        # a closed cycle's page, so a leaked link to it must still be stoppable while the workflow
        # finishes. (Once the workflow has ended, the server refuses every Update; the surfaces say so.)
        self._ready()
        if call.unit_id not in self.state.units:
            raise _rejected(f"unknown unit {call.unit_id!r} in cycle {self.spec.cycle_id}")

    @workflow.update
    def remind_now(self, call: RemindNow) -> Reminded:
        """催办 now: a reminder (or, past the deadline, an overdue notice) with the office's note to each unit
        chosen, queued for the outbox like any other message; the same key twice sends nothing again."""
        if call.key in self.state.chased:
            return Reminded(cycle_id=self.spec.cycle_id, message="这次催办已发出，不再重复发送", repeated=True)
        now = workflow.now()
        units = chase.targets(self.state, call.unit_ids)
        messages: list[Notification] = []
        for uid in units:
            unit = self.state.units[uid]
            template = Template.OVERDUE if now > unit.due.at else Template.REMINDER
            messages += notices.unit_message(self.spec, unit, f"chase:{call.key}", template, reason=call.note)
            self._record(unit, "chase", by=call.by, detail=call.note)
        self._queue(messages)
        self.state.chased = [*self.state.chased, call.key][-chase.MAX_KEYS :]
        self._audit(call.by, f"chase ({len(units)} units){': ' + call.note if call.note else ''}")
        return Reminded(cycle_id=self.spec.cycle_id, message=f"已向{len(units)}个单位发出催办", units=units)

    @remind_now.validator
    def validate_remind_now(self, call: RemindNow) -> None:
        self._ready()
        if call.key in self.state.chased:
            return  # the same click again: the handler answers that it was sent, and sends nothing
        if self.state.stage is CycleStage.CLOSED:
            raise _rejected(f"cycle {self.spec.cycle_id} is closed")
        reason = chase.refusal(self.spec, self.state, call, workflow.now())
        if reason:
            raise _rejected(reason)

    @workflow.update
    def amend_units(self, call: AmendUnits) -> Amended:
        """The plan changed under a running cycle: add its new units (notice, own deadline), withdraw the
        ones it dropped (no more chasing), take changed contacts and leaders for the next mail."""
        now = workflow.now()
        change = amendment.difference(self.spec, self.state, call, now)
        if change.empty:
            return Amended(cycle_id=self.spec.cycle_id, message="计划与本期一致，无需变更", unchanged=True)
        # Marks the histories that hold an amendment, so a later change to how one is applied can be
        # told apart from these (histories without one never reach this handler).
        workflow.patched("amend-units")
        self._amend(change, call)
        added, withdrawn = [u.id for u in change.added], change.withdrawn
        changed = [c.unit_id for c in change.changed]
        return Amended(
            cycle_id=self.spec.cycle_id,
            message=f"新增{len(added)}个单位，撤回{len(withdrawn)}个单位，变更{len(changed)}个单位",
            added=added,
            withdrawn=withdrawn,
            changed=changed,
        )

    @amend_units.validator
    def validate_amend_units(self, call: AmendUnits) -> None:
        self._ready()
        change = amendment.difference(self.spec, self.state, call, workflow.now())
        if change.refusal:
            raise _rejected(change.refusal)
        if change.empty:
            return  # the same plan again: the handler answers that nothing changes, and sends nothing
        if call.expect and call.expect != change.digest:
            raise _rejected(f"cycle {self.spec.cycle_id} changed since the difference was shown; look at it again")

    @workflow.query
    def preview_amendment(self, call: AmendUnits) -> Amendment:
        """What `amend_units` would change now, and why it would be refused (nothing is recorded)."""
        self._ready()
        return amendment.difference(self.spec, self.state, call, workflow.now())

    def _amend(self, change: Amendment, call: AmendUnits) -> None:
        by = call.by
        replaced: dict[str, CycleUnit] = {u.id: u for u in change.added}
        replaced |= {c.unit_id: c.unit for c in change.changed}
        units = [replaced.pop(u.id, u) for u in self.spec.units]
        self.spec.replace_units(units + [u for u in change.added if u.id in replaced])
        due = change.new_units_due
        # With the cycle's date the unit shares the cycle's deadline, and moves with it when holiday data arrives.
        shares_cycle_due = call.new_units_due is NewUnitsDue.CYCLE
        for cu in change.added:
            assert due is not None  # the validator computed it for every amendment that adds a unit
            unit = self.state.units.get(cu.id)
            if unit is None:
                unit = UnitState(unit_id=cu.id, due=due, base_due=shares_cycle_due, due_set_at=workflow.now())
                self.state.units[cu.id] = unit
            else:  # restored: a new deadline version, so the steps fired before do not count
                unit.phase, unit.waived_reason = UnitPhase.PENDING, ""
                self._move_due(unit, due, base=shares_cycle_due)
            what = "restored" if cu.id in change.restored else "added"
            self._record(unit, what, by=by, detail=f"due {due.at.isoformat()}")
            self._audit(by, f"unit {what} by amendment, due {due.at.isoformat()}", cu.id)
            self._record(unit, "notice")
            self._queue(notices.unit_message(self.spec, unit, "notice", Template.NOTICE, invite=True))
        for uid in change.withdrawn:
            unit = self.state.units[uid]
            unit.phase = UnitPhase.WITHDRAWN
            unit.extension = None
            self._record(unit, "withdrawn", by=by)
            self._audit(by, "unit withdrawn by amendment", uid)
        for c in change.changed:
            # Field names only: contacts are personal data, and the cycle's spec already holds them.
            self._record(self.state.units[c.unit_id], "amended", by=by, detail=", ".join(c.fields))
            self._audit(by, f"unit changed by amendment: {', '.join(c.fields)}", c.unit_id)
        workflow.logger.info(
            "cycle amended",
            extra={
                "cycle_id": self.spec.cycle_id,
                "added": len(change.added),
                "withdrawn": len(change.withdrawn),
                "changed": len(change.changed),
            },
        )
        self._wake = True

    @workflow.update
    def forward_upward(self, call: OfficeAction) -> ActionResult:
        self.state.forward_requested = True
        self._audit(call.by, f"forward requested: {call.reason}")
        self._wake = True
        return ActionResult(cycle_id=self.spec.cycle_id, message="the roll-up will be compiled and forwarded now")

    @forward_upward.validator
    def validate_forward_upward(self, call: OfficeAction) -> None:
        self._ready()
        if self.state.stage is CycleStage.CLOSED:
            raise _rejected(f"cycle {self.spec.cycle_id} is closed")

    @workflow.update
    def close(self, call: OfficeAction) -> ActionResult:
        self._audit(call.by, f"closed: {call.reason}")
        self._close(f"closed by {call.by}: {call.reason}")
        self._wake = True
        return ActionResult(cycle_id=self.spec.cycle_id, message="closed")

    @close.validator
    def validate_close(self, call: OfficeAction) -> None:
        self._ready()
        if self.state.stage is CycleStage.CLOSED:
            raise _rejected(f"cycle {self.spec.cycle_id} is already closed")

    @workflow.update
    def update_calendar(self, call: NewCalendar) -> ActionResult:
        """Holiday data arrived (e.g. the State Council's notice): recompute deadlines that follow the rule."""
        self.spec.calendar = call.calendar
        new_due = timeline.unit_due(self.spec)
        moved: list[str] = []
        if new_due.at != self.state.unit_due.at:
            for unit in self.state.units.values():
                if unit.base_due and not timeline.settled(unit):
                    previous = unit.due
                    self._move_due(unit, new_due, base=True)
                    self._record(unit, "deadline_moved", by=call.by, detail=f"{previous.at} → {new_due.at}")
                    self._queue(
                        notices.unit_message(
                            self.spec, unit, "moved", Template.DEADLINE_MOVED, invite=True, previous_due=previous
                        )
                    )
                    moved.append(unit.unit_id)
                elif unit.base_due:
                    unit.due = new_due
        self.state.unit_due = new_due
        self.state.upward_due = timeline.upward_due(self.spec, new_due)
        self._audit(call.by, f"holiday data updated; {len(moved)} deadline(s) moved")
        self._wake = True
        return ActionResult(cycle_id=self.spec.cycle_id, message=f"{len(moved)} deadline(s) moved", moved=moved)

    @update_calendar.validator
    def validate_update_calendar(self, call: NewCalendar) -> None:
        self._ready()
        if self.state.stage is CycleStage.CLOSED:
            raise _rejected(f"cycle {self.spec.cycle_id} is closed")
        if call.calendar.tz != self.spec.calendar.tz:
            raise _rejected(f"holiday data is for {call.calendar.tz}, the cycle counts in {self.spec.calendar.tz}")
        if self.spec.period_year not in call.calendar.years:
            raise _rejected(f"holiday data does not cover {self.spec.period_year}")
        # The handler recomputes every deadline and its ladder on the new data: so does the validator.
        trial = self.spec.model_copy(update={"calendar": call.calendar})
        try:
            due = timeline.unit_due(trial)
            timeline.upward_due(trial, due)
            timeline.deadline_ladder(trial, due, workflow.now())
        except (ValueError, OverflowError) as exc:
            raise _rejected(f"the holiday data cannot count this cycle's deadlines: {exc}") from None

    def _audit(self, by: str, what: str, unit_id: str = "") -> None:
        self.state.audit.append(TimelineEntry(at=workflow.now(), what=what, by=by, detail=unit_id))
