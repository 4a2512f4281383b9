"""`InfoChannel`: one office's standing channel for timely information reports (及时报送).

Units send items whenever there is news; the office adopts, returns or files
each one; adopted items go up to the upper office's channel (or by mail) within
the plan's limit. The run loop reads like the process: send the queued mail →
act on what is due (reminders, limits, quiet units) → send up what must go up →
page settled items out to the blob store → sleep until the next moment or a
call. Handlers only change the book (domain/info_book.py, pure code).

Bounded for a campaign year: item content lives in the blob store, settled
items are paged out, and the run continues as new long before its history
nears Temporal's limits, carrying only open items, page references and tallies.
"""

import contextlib
import datetime as dt
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.info_book import InfoBook, Refused, period_months, statistics
    from schemas.activities import InfoActivity, MailActivity
    from schemas.cycle import LinksRevoked, RevokeLinks
    from schemas.info import (
        ArchiveRequest,
        BoardQuery,
        CloseChannel,
        DecideItem,
        ForwardItem,
        InfoBoard,
        InfoForwardRequest,
        InfoForwardResult,
        InfoInput,
        InfoItem,
        InfoReceipt,
        InfoStats,
        ItemResult,
        ItemsQuery,
        ItemsView,
        StatsQuery,
        SubmitItem,
        item_id,
    )
    from schemas.notify import DeliveryStatus, MailBatch
    from schemas.visibility import CAMPAIGN, DUE_AT, OFFICE, STAGE

MAIL_RETRY = RetryPolicy(initial_interval=dt.timedelta(seconds=2), maximum_interval=dt.timedelta(minutes=5))
MAIL_HEARTBEAT = dt.timedelta(seconds=40)
MAIL_USEFUL_FOR = dt.timedelta(days=2)
# Receipts and decisions are small; this many in one mail activity keeps its input far below 512 KB.
MAIL_BATCH = 50
# Going up through the upper office's channel: if it cannot be reached for this long, the item goes by mail.
FORWARD_TRIES_FOR = dt.timedelta(minutes=30)
BLOB_RETRY = RetryPolicy(initial_interval=dt.timedelta(seconds=2), maximum_interval=dt.timedelta(minutes=2))
# Continue as new well before Temporal's warnings (10,240 events, 10 MB): a year of items takes
# several runs, each a few thousand events (`InfoSpec.max_run_events`) and a few MB at most.
MAX_RUN_BYTES = 4 * 1024 * 1024


def _rejected(exc: Refused | str) -> ApplicationError:
    return ApplicationError(str(exc), type="Rejected", non_retryable=True)


@workflow.defn(name="InfoChannel")
class InfoChannel:
    @workflow.init
    def __init__(self, input: InfoInput) -> None:
        self.book = InfoBook(input.spec, input.state)
        self._wake = False
        self._published: tuple[object, ...] | None = None

    @workflow.run
    async def run(self, input: InfoInput) -> ItemsView:
        if input.state is None:
            self.book.announce()
            workflow.logger.info("information channel opened", extra={"channel_id": input.spec.channel_id})
        while not self.book.closed:
            self._wake = False
            await self._send_outbox()
            now = workflow.now()
            for item in self.book.fire_due(now):
                await self._forward(item)
            await self._send_outbox()
            if len(self.book.settled_items()) >= self.book.spec.archive_batch:
                await self._archive()
            self._publish()
            if not self.book.closed and self._run_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._send_outbox()
                self.book.state.runs += 1
                workflow.continue_as_new(InfoInput(spec=self.book.spec, state=self.book.state))
            if self._wake:
                continue
            await self._sleep_until_next(workflow.now())
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Closing does not lose what was adopted: whatever still waits goes up now.
        for item in self.book.waiting():
            await self._forward(item)
        await self._send_outbox()
        self._publish()
        return self._items(ItemsQuery())

    def _run_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.book.spec.max_run_events
            or info.get_current_history_size() > MAX_RUN_BYTES
        )

    async def _sleep_until_next(self, now: dt.datetime) -> None:
        nxt = self.book.next_moment()
        if nxt is None:
            await workflow.wait_condition(lambda: self._wake)
            return
        # A timeout is the timer firing: the next turn of the loop acts on what is due.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._wake,
                timeout=max(nxt.at - now, dt.timedelta(milliseconds=1)),
                timeout_summary=f"{nxt.summary} at {nxt.at.isoformat()}",
            )

    # ---- going up --------------------------------------------------------------------------

    async def _forward(self, item: InfoItem) -> None:
        self._publish()
        upper = self.book.spec.upper_office
        assert upper is not None  # only waiting items reach here, and only when the office forwards
        now = workflow.now()
        ident = item_id(self.book.spec.channel_id, item.no)
        request = InfoForwardRequest(
            channel_id=self.book.spec.channel_id,
            item_id=ident,
            upper=upper,
            kind=item.kind,
            title=item.title,
            body=item.body,
            attachments=item.attachments,
        )
        try:
            result = await workflow.execute_activity_method(
                InfoActivity.forward_info_item,
                request,
                start_to_close_timeout=dt.timedelta(minutes=2),
                schedule_to_close_timeout=FORWARD_TRIES_FOR,
                retry_policy=MAIL_RETRY,
                summary=f"send item {ident} up",
            )
        except ActivityError as err:
            result = InfoForwardResult(delivered=False, how="none", detail=f"upper channel unreachable: {err.cause}")
        if result.delivered:
            self.book.forwarded(item, now, "channel", result.upper_item_id or result.detail)
            return
        mail = self.book.forward_by_mail(item)
        if mail:
            self.book.state.outbox.extend(mail)
            self.book.forwarded(item, now, "mail", upper.email or "")
        else:
            self.book.forwarded(item, now, "none", result.detail)

    async def _archive(self) -> None:
        self._publish()
        items = self.book.take_settled()
        page = await workflow.execute_activity_method(
            InfoActivity.archive_info_items,
            ArchiveRequest(channel_id=self.book.spec.channel_id, items=items),
            start_to_close_timeout=dt.timedelta(minutes=1),
            retry_policy=BLOB_RETRY,
            summary=f"page out {len(items)} settled item(s)",
        )
        self.book.state.archive.append(page)

    # ---- mail ------------------------------------------------------------------------------

    async def _send_outbox(self) -> None:
        """Send what is queued now; mail queued meanwhile waits for the next turn of the loop, so a
        steady stream of calls cannot keep the loop from its other work (continuing as new)."""
        self._publish()
        state = self.book.state
        queued, state.outbox = state.outbox, []
        for start in range(0, len(queued), MAIL_BATCH):
            batch = queued[start : start + MAIL_BATCH]
            now = workflow.now()
            try:
                result = await workflow.execute_activity_method(
                    MailActivity.send_batch,
                    MailBatch(
                        scope=self.book.spec.channel_id,
                        instant=now,
                        notifications=batch,
                        useful_until=now + MAIL_USEFUL_FOR,
                    ),
                    start_to_close_timeout=dt.timedelta(minutes=5),
                    heartbeat_timeout=MAIL_HEARTBEAT,
                    retry_policy=MAIL_RETRY,
                    summary=f"send {len(batch)} message(s)",
                )
            except ActivityError as err:
                # Mail that can no longer be useful is logged, not retried forever; the channel goes on.
                # The error's type only: its message may quote an address (personal data, never logged).
                workflow.logger.warning(
                    "mail batch failed",
                    extra={"channel_id": self.book.spec.channel_id, "error": type(err.cause).__name__},
                )
                continue
            refused = [d for d in result.deliveries if d.status in (DeliveryStatus.REFUSED, DeliveryStatus.NO_ADDRESS)]
            if refused:
                # A delivery's key ends in the recipient's address: counted, not logged.
                workflow.logger.warning(
                    "mail refused", extra={"channel_id": self.book.spec.channel_id, "refused": len(refused)}
                )

    def _publish(self) -> None:
        """Search attributes: ids, a stage and the earliest forwarding limit — never titles or names.

        Called before every activity is scheduled (and before sleeping), not only at one point of
        the loop: a call applied in the same workflow task as an activity's result can find the loop
        at a different await on replay than it did live (seen with rejected Updates in between), and
        the commands must come out in the same order either way — the upsert first, then the activity."""
        waiting = self.book.waiting()
        due = min((i.forward_due.at for i in waiting if i.forward_due), default=None)
        stage = "closed" if self.book.closed else "open"
        values = (stage, due)
        if values == self._published:
            return
        self._published = values
        updates: list[SearchAttributeUpdate[Any]] = [
            CAMPAIGN.value_set(self.book.spec.campaign_id),
            OFFICE.value_set(self.book.spec.office.id),
            STAGE.value_set(stage),
            DUE_AT.value_set(due) if due else DUE_AT.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)

    # ---- queries ---------------------------------------------------------------------------

    @workflow.query
    def get_items(self, query: ItemsQuery) -> ItemsView:
        return self._items(query)

    def _items(self, query: ItemsQuery) -> ItemsView:
        spec = self.book.spec
        items = [i for i in self.book.state.items if query.unit_id in (None, i.unit_id)]
        return ItemsView(
            channel_id=spec.channel_id,
            campaign_id=spec.campaign_id,
            office_id=spec.office.id,
            title=spec.title,
            now=workflow.now(),
            closed=self.book.closed,
            units={u.id: u.name for u in spec.units},
            work_areas=spec.work_areas,
            kinds=spec.rules.kinds,
            has_upper=self.book.forwards,
            upper_name=spec.upper_office.name if spec.upper_office else "",
            items=items,
            archive=self.book.state.archive,
            next_no=self.book.state.next_no,
            activity={u: a for u, a in self.book.state.activity.items() if query.unit_id in (None, u)},
        )

    @workflow.query
    def get_stats(self, query: StatsQuery) -> InfoStats:
        try:
            period_months(query.period)
        except ValueError as exc:
            raise _rejected(str(exc)) from None
        return statistics(self.book.spec, self.book.state, query.period, workflow.now())

    @workflow.query
    def get_board(self, query: BoardQuery) -> InfoBoard:
        return self.book.board()

    # ---- updates ---------------------------------------------------------------------------

    @workflow.update
    def submit_item(self, call: SubmitItem) -> InfoReceipt:
        receipt = self.book.apply_submit(call, workflow.now())
        self._wake = True
        return receipt

    @submit_item.validator
    def validate_submit_item(self, call: SubmitItem) -> None:
        try:
            self.book.check_submit(call)
        except Refused as exc:
            raise _rejected(exc) from None

    @workflow.update
    def decide_item(self, call: DecideItem) -> ItemResult:
        result = self.book.apply_decide(call, workflow.now())
        self._wake = True
        return result

    @decide_item.validator
    def validate_decide_item(self, call: DecideItem) -> None:
        try:
            self.book.check_decide(call)
        except Refused as exc:
            raise _rejected(exc) from None

    @workflow.update
    def forward_item(self, call: ForwardItem) -> ItemResult:
        result = self.book.apply_forward(call, workflow.now())
        self._wake = True
        return result

    @forward_item.validator
    def validate_forward_item(self, call: ForwardItem) -> None:
        try:
            self.book.check_forward(call)
        except Refused as exc:
            raise _rejected(exc) from None

    @workflow.update
    def close_channel(self, call: CloseChannel) -> InfoBoard:
        self.book.apply_close(call.by, workflow.now())
        self._wake = True
        return self.book.board()

    @close_channel.validator
    def validate_close_channel(self, call: CloseChannel) -> None:
        try:
            self.book.check_close()
        except Refused as exc:
            raise _rejected(exc) from None

    @workflow.update
    def revoke_links(self, call: RevokeLinks) -> LinksRevoked:
        """The unit's links to this channel made before now stop opening (`duban link revoke --cycle info:…`)."""
        now = workflow.now()
        self.book.apply_revoke(call.unit_id, now)
        return LinksRevoked(
            cycle_id=self.book.spec.channel_id,
            unit_id=call.unit_id,
            links_valid_from=now,
            message=f"{call.unit_id}: links made before {now.isoformat(timespec='seconds')} no longer open",
        )

    @revoke_links.validator
    def validate_revoke_links(self, call: RevokeLinks) -> None:
        try:
            self.book.check_revoke(call.unit_id)
        except Refused as exc:
            raise _rejected(exc) from None
