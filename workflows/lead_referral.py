"""`LeadReferral`: one workflow per case lead (线索通报 / 案件移送), its stages and their clocks.

The run loop reads like the process: fire what is due → send the instant's mail
in one batch → publish search attributes → sleep until the next agenda moment or
a call. Every call is an Update whose validator asks the stage book (pure code,
domain/lead_stages.py) and refuses with a reason without changing anything;
the handler applies it and returns a receipt. Mail goes out from the loop only.
"""

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.lead_stages import LeadBook, Refused
    from schemas.activities import ArchiveActivity
    from schemas.archive import ArchivedLead
    from schemas.cycle import LinksRevoked, NewCalendar, RevokeLinks
    from schemas.lead import (
        Approve,
        CloseLead,
        Decide,
        DecideLeadExtension,
        GiveFeedback,
        HandOver,
        Involve,
        LeadDeadlinesMoved,
        LeadEvent,
        LeadInput,
        LeadReceipt,
        LeadStatus,
        LeadStatusQuery,
        RequestLeadExtension,
        RequestReconsideration,
        SignFor,
        Transfer,
    )
    from schemas.notify import MailBacklog
    from schemas.visibility import CAMPAIGN, DUE_AT, ESCALATION_LEVEL, STAGE, UNITS
    from workflows.outbox import MailOutbox

# Retried until the records database takes it: the lead completes only once it is kept beyond retention.
ARCHIVE_TIMEOUT = timedelta(minutes=2)
ARCHIVE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10))


# Extensions (延期申请) and revoking a unit's lead links arrived after leads were running: the marker
# tells histories that took them from those that could not (no earlier command changes).
EXTENSIONS_PATCH = "lead-extension-and-links"


def _refuse(exc: Refused) -> ApplicationError:
    return ApplicationError(str(exc), type="Rejected", non_retryable=True)


@workflow.defn(name="LeadReferral")
class LeadReferral:
    @workflow.init
    def __init__(self, spec: LeadInput) -> None:
        self.book = LeadBook(spec)
        self.book.start()
        self._dirty = False
        self._published: tuple[object, ...] | None = None
        self._mail = MailOutbox()

    @workflow.run
    async def run(self, spec: LeadInput) -> LeadStatus:
        while True:
            self._dirty = False
            now = workflow.now()
            self.book.fire_due(now)
            await self._send_mail()
            self._publish()
            if self.book.closed:
                break
            upcoming = self.book.next_moment()
            timeout = None if upcoming is None else max(upcoming.at - workflow.now(), timedelta(0))
            if timeout is not None and timeout <= timedelta(0):
                continue
            summary = upcoming.summary if upcoming is not None else "waiting for a call"
            with contextlib.suppress(TimeoutError):  # the timer ran out: the next agenda moment is here
                await workflow.wait_condition(lambda: self._dirty, timeout=timeout, timeout_summary=summary)
        # Updates accepted in the last instant finish before the workflow completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._send_mail()
        if workflow.patched("archive-at-close"):
            await self._archive()
        return self.book.status(workflow.now())

    async def _archive(self) -> None:
        """Keep the closed lead in the records database, for when Temporal's retention has dropped it."""
        closed = ArchivedLead(input=self.book.spec, status=self.book.status(workflow.now()))
        await workflow.execute_activity_method(
            ArchiveActivity.archive_lead,
            closed,
            start_to_close_timeout=ARCHIVE_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
            summary="archive the closed lead",
        )

    async def _send_mail(self) -> None:
        # What is queued now goes out now; what a call queues meanwhile, on the next turn of the loop.
        await self._mail.send_all(self.book.take_outbox(), {}, self.book.spec.lead_id, self._mail_record)
        if not self.book.outbox:
            self._mail.settled()

    def _mail_record(self, what: str, detail: str) -> None:
        """A failed batch, a refused address, a person with no address: on the lead's timeline."""
        self.book.timeline.append(LeadEvent(at=workflow.now(), what=what, by="duban", detail=detail))

    def _publish(self) -> None:
        """Search attributes: ids, stage names, times and levels only — they are not encrypted."""
        due = self.book.earliest_due()
        values = (self.book.stage_label(), due, self.book.escalation_level, tuple(self.book.unit_ids()))
        if values == self._published:
            return
        self._published = values
        stage, _, level, units = values
        updates: list[SearchAttributeUpdate[Any]] = [
            CAMPAIGN.value_set(self.book.spec.campaign_id),
            STAGE.value_set(stage),
            ESCALATION_LEVEL.value_set(level),
            UNITS.value_set(list(units)),
        ]
        # A closed lead keeps its last deadline (DubanStage = 'closed' tells it apart): unsetting a
        # Datetime leaves a null the Python client cannot decode on the time-skipping server.
        if due is not None:
            updates.append(DUE_AT.value_set(due))
        workflow.upsert_search_attributes(updates)

    def _changed(self) -> None:
        self._dirty = True

    # ---- queries -------------------------------------------------------------------------------

    @workflow.query
    def get_status(self, query: LeadStatusQuery) -> LeadStatus:
        return self.book.status(workflow.now())

    @workflow.query
    def get_mail_backlog(self) -> MailBacklog:
        return self._mail.backlog(len(self.book.outbox))

    # ---- updates: validators refuse with a reason and change nothing ---------------------------

    @workflow.update
    def sign_for(self, call: SignFor) -> LeadReceipt:
        receipt = self.book.apply_sign_for(call, workflow.now())
        self._changed()
        return receipt

    @sign_for.validator
    def validate_sign_for(self, call: SignFor) -> None:
        try:
            self.book.check_sign_for(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def decide(self, call: Decide) -> LeadReceipt:
        receipt = self.book.apply_decide(call, workflow.now())
        self._changed()
        return receipt

    @decide.validator
    def validate_decide(self, call: Decide) -> None:
        try:
            self.book.check_decide(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def give_feedback(self, call: GiveFeedback) -> LeadReceipt:
        receipt = self.book.apply_give_feedback(call, workflow.now())
        self._changed()
        return receipt

    @give_feedback.validator
    def validate_give_feedback(self, call: GiveFeedback) -> None:
        try:
            self.book.check_give_feedback(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def close(self, call: CloseLead) -> LeadReceipt:
        receipt = self.book.apply_close(call, workflow.now())
        self._changed()
        return receipt

    @close.validator
    def validate_close(self, call: CloseLead) -> None:
        try:
            self.book.check_close(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def approve_transfer(self, call: Approve) -> LeadReceipt:
        receipt = self.book.apply_approve(call, workflow.now())
        self._changed()
        return receipt

    @approve_transfer.validator
    def validate_approve_transfer(self, call: Approve) -> None:
        try:
            self.book.check_approve(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def transfer(self, call: Transfer) -> LeadReceipt:
        receipt = self.book.apply_transfer(call, workflow.now())
        self._changed()
        return receipt

    @transfer.validator
    def validate_transfer(self, call: Transfer) -> None:
        try:
            self.book.check_transfer(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def request_reconsideration(self, call: RequestReconsideration) -> LeadReceipt:
        receipt = self.book.apply_request_reconsideration(call, workflow.now())
        self._changed()
        return receipt

    @request_reconsideration.validator
    def validate_request_reconsideration(self, call: RequestReconsideration) -> None:
        try:
            self.book.check_request_reconsideration(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def hand_over(self, call: HandOver) -> LeadReceipt:
        receipt = self.book.apply_hand_over(call, workflow.now())
        self._changed()
        return receipt

    @hand_over.validator
    def validate_hand_over(self, call: HandOver) -> None:
        try:
            self.book.check_hand_over(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def involve(self, call: Involve) -> LeadEvent:
        event = self.book.apply_involve(call, workflow.now())
        self._changed()
        return event

    @involve.validator
    def validate_involve(self, call: Involve) -> None:
        try:
            self.book.check_involve(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def update_calendar(self, call: NewCalendar) -> LeadDeadlinesMoved:
        """Holiday data arrived (the State Council's notice): count every open stage's limit again."""
        moved = self.book.apply_update_calendar(call, workflow.now())
        self._changed()
        return moved

    @update_calendar.validator
    def validate_update_calendar(self, call: NewCalendar) -> None:
        try:
            self.book.check_update_calendar(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def request_extension(self, call: RequestLeadExtension) -> LeadReceipt:
        """延期申请 from the acting unit; the office hears by mail at once and grants or refuses it."""
        workflow.patched(EXTENSIONS_PATCH)
        receipt = self.book.apply_request_extension(call, workflow.now())
        self._changed()
        return receipt

    @request_extension.validator
    def validate_request_extension(self, call: RequestLeadExtension) -> None:
        try:
            self.book.check_request_extension(call, workflow.now())
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def decide_extension(self, call: DecideLeadExtension) -> LeadReceipt:
        """The office grants (the clock moves) or refuses a pending extension request; the unit hears by mail."""
        workflow.patched(EXTENSIONS_PATCH)
        receipt = self.book.apply_decide_extension(call, workflow.now())
        self._changed()
        return receipt

    @decide_extension.validator
    def validate_decide_extension(self, call: DecideLeadExtension) -> None:
        try:
            self.book.check_decide_extension(call)
        except Refused as exc:
            raise _refuse(exc) from None

    @workflow.update
    def revoke_links(self, call: RevokeLinks) -> LinksRevoked:
        """The unit's lead links made before now stop opening (recorded on the timeline with who and why)."""
        workflow.patched(EXTENSIONS_PATCH)
        now = workflow.now()
        self.book.apply_revoke_links(call.unit_id, call.by, call.reason, now)
        self._changed()
        return LinksRevoked(
            cycle_id=self.book.spec.lead_id,
            unit_id=call.unit_id,
            links_valid_from=now,
            message=f"{call.unit_id}：{now.isoformat(timespec='seconds')} 之前发出的线索链接已失效",
        )

    @revoke_links.validator
    def validate_revoke_links(self, call: RevokeLinks) -> None:
        try:
            self.book.check_revoke_links(call.unit_id)
        except Refused as exc:
            raise _refuse(exc) from None
