"""The information channel's book: items, decisions, the forwarding clock, tallies — pure code.

`InfoChannel` feeds it the clock and the calls. `check_*` never changes anything
(Update validators call it, so a refused call changes nothing); `apply_*`
changes the state and queues mail. The agenda holds every moment the channel
must act at: the office's reminders before an adopted item's forwarding limit,
the limit itself (what is still waiting then goes up by itself), the end of a
returned item's resubmission window, and the gentle reminder to a quiet unit.
No temporalio import, no clock, no I/O.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain.legaltime.days import CalendarView
from domain.legaltime.ladder import reminder_moments, snap_later
from domain.legaltime.periods import compute_due
from domain.submission_caps import decision_refusal, item_refusal
from schemas.calendar import Due, HolidayCalendar
from schemas.cycle import CycleUnit
from schemas.info import (
    DECISION_STATE,
    DecideItem,
    Decision,
    ForwardItem,
    InfoBoard,
    InfoCarried,
    InfoItem,
    InfoReceipt,
    InfoSpec,
    InfoState,
    InfoStats,
    ItemEvent,
    ItemResult,
    KindCounts,
    StatsRow,
    SubmitItem,
    Tally,
    UnitActivity,
    WaitingItem,
    channel_workflow_id,
    item_id,
    month_of,
)
from schemas.info_plan import INFO_KIND_ZH, InfoKind
from schemas.notify import DocumentRef, ItemLine, MessageContext, Notification, Template
from schemas.people import Person
from schemas.plan import CampaignPlan

ENGINE = "duban"
# What the office leaves waiting goes up by itself this long before its limit, so it lands inside it.
FORWARD_MARGIN = dt.timedelta(minutes=5)
STATE_ZH = {"pending": "待审核", "adopted": "已采用", "returned": "已退回", "filed": "已存档"}


class Refused(ValueError):
    """A call the channel cannot accept; the message says why."""


@dataclass(frozen=True)
class Moment:
    at: dt.datetime
    what: str  # remind | forward | expire | quiet
    key: str  # remind: the rung's key; quiet: the unit id
    no: int = 0

    @property
    def summary(self) -> str:
        return f"{self.what} {self.no or self.key}"


def channel_spec(plan: CampaignPlan, opened_at: dt.datetime, calendar: HolidayCalendar) -> InfoSpec:
    """The channel a plan's `info` section opens (`duban campaign start`)."""
    info = plan.info
    if info is None:
        raise ValueError(f"plan {plan.id} has no info section")
    wanted = info.units if info.units is not None else [u.id for u in plan.units]
    units = [
        CycleUnit(id=u.id, name=u.name, contacts=u.contacts, leader=u.leader, work_areas=plan.work_areas_of(u.id))
        for u in plan.units
        if u.id in wanted
    ]
    return InfoSpec(
        channel_id=channel_workflow_id(plan.id, plan.office.id),
        campaign_id=plan.id,
        campaign_title=plan.title,
        title=info.title,
        office=plan.office,
        upper_office=plan.upper_office,
        document=DocumentRef(
            number=plan.document.number,
            title=plan.document.title,
            office_name=plan.office.name,
            upstream_number=plan.document.upstream_number,
        ),
        contact=plan.contact,
        units=units,
        work_areas=[f"{a.id} {a.title}" for a in plan.work_areas],
        rules=info,
        calendar=calendar,
        tz=plan.timezone,
        locale=plan.locale,
        opened_at=opened_at,
    )


# ---- periods and statistics ---------------------------------------------------------------------

_QUARTERS = "一二三四"


def period_months(period: str) -> tuple[list[str], str]:
    """The months of a statistics period and its name: 2026-M03 / 2026-03, 2026-Q4, 2026-H1, 2026-Y / 2026."""
    text = period.strip().upper()
    year_text, _, part = text.partition("-")
    if not (len(year_text) == 4 and year_text.isdigit()):
        raise ValueError(f"period {period!r}: expected 2026-M03, 2026-Q4, 2026-H1 or 2026-Y")
    year = int(year_text)
    if part in ("", "Y"):
        return [f"{year}-{m:02d}" for m in range(1, 13)], f"{year}年"
    digits = part.removeprefix("M")
    if digits.isdigit() and 1 <= int(digits) <= 12 and len(digits) <= 2:
        return [f"{year}-{int(digits):02d}"], f"{year}年{int(digits)}月"
    if part in ("Q1", "Q2", "Q3", "Q4"):
        q = int(part[1])
        return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)], f"{year}年第{_QUARTERS[q - 1]}季度"
    if part in ("H1", "H2"):
        first = 1 if part == "H1" else 7
        return [f"{year}-{m:02d}" for m in range(first, first + 6)], f"{year}年{'上' if part == 'H1' else '下'}半年"
    raise ValueError(f"period {period!r}: expected 2026-M03, 2026-Q4, 2026-H1 or 2026-Y")


def tally_key(unit_id: str, month: str, kind: InfoKind) -> str:
    return f"{unit_id}|{month}|{kind.value}"


def _rate(adopted: int, sent: int) -> float | None:
    return adopted / sent if sent else None


def statistics(spec: InfoSpec, state: InfoCarried, period: str, now: dt.datetime) -> InfoStats:
    """Per unit (in the plan's order): items first sent in the period, adopted, returned, filed, by kind."""
    months, period_zh = period_months(period)
    wanted = set(months)
    rows: list[StatsRow] = []
    total = StatsRow(unit_id="", unit_name="合计", by_kind={k: KindCounts() for k in spec.rules.kinds})
    by_unit: dict[str, list[tuple[str, Tally]]] = {}
    for key, tally in state.tallies.items():
        unit_id, month, kind_text = key.split("|")
        if month in wanted:
            by_unit.setdefault(unit_id, []).append((kind_text, tally))
    for unit in spec.units:
        row = StatsRow(
            unit_id=unit.id,
            unit_name=unit.name,
            by_kind={k: KindCounts() for k in spec.rules.kinds},
            last_item_at=state.activity.get(unit.id, UnitActivity()).last_item_at,
        )
        for kind_text, tally in by_unit.get(unit.id, []):
            kind = InfoKind(kind_text)
            counts = row.by_kind.setdefault(kind, KindCounts())
            counts.sent += tally.sent
            counts.adopted += tally.adopted
            row.sent += tally.sent
            row.adopted += tally.adopted
            row.returned += tally.returned
            row.filed += tally.filed
            overall = total.by_kind.setdefault(kind, KindCounts())
            overall.sent += tally.sent
            overall.adopted += tally.adopted
        row.rate = _rate(row.adopted, row.sent)
        for name in ("sent", "adopted", "returned", "filed"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        rows.append(row)
    total.rate = _rate(total.adopted, total.sent)
    return InfoStats(
        channel_id=spec.channel_id,
        campaign_id=spec.campaign_id,
        office_name=spec.office.name,
        title=spec.title,
        period=period.strip().upper(),
        period_zh=period_zh,
        months=months,
        rows=rows,
        total=total,
        document=spec.document,
        contact=spec.contact,
        tz=spec.tz,
        computed_at=now,
    )


# ---- the book -----------------------------------------------------------------------------------


def _address(person: Person) -> str:
    return person.email or person.webhook or person.name


class InfoBook:
    def __init__(self, spec: InfoSpec, state: InfoCarried | None) -> None:
        self.spec = spec
        self.state = state or InfoCarried()
        self._units = {u.id: u for u in spec.units}

    # -- what the channel holds ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state.closed_at is not None

    @property
    def forwards(self) -> bool:
        """Adopted items go up: there is an upper office and a limit."""
        return self.spec.upper_office is not None and self.spec.rules.forward_within is not None

    def item(self, no: int) -> InfoItem | None:
        return next((i for i in self.state.items if i.no == no), None)

    def open_items(self) -> list[InfoItem]:
        return [i for i in self.state.items if i.settled_at is None]

    def settled_items(self) -> list[InfoItem]:
        return [i for i in self.state.items if i.settled_at is not None]

    def waiting(self) -> list[InfoItem]:
        """Adopted items still to go up, earliest limit first."""
        out = [i for i in self.state.items if i.state is InfoState.ADOPTED and i.settled_at is None]
        return sorted(out, key=lambda i: (i.forward_due.at if i.forward_due else i.submitted_at, i.no))

    def to_forward_now(self, now: dt.datetime) -> list[InfoItem]:
        """Waiting items the office asked to send or whose limit has come."""
        return [
            i
            for i in self.waiting()
            if i.forward_asked or (i.forward_due is not None and self._auto_forward_at(i) <= now)
        ]

    def unit(self, unit_id: str) -> CycleUnit:
        return self._units[unit_id]

    # -- checks (validators) ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise Refused(f"the information channel {self.spec.channel_id} is closed")

    def check_submit(self, call: SubmitItem) -> None:
        self._check_open()
        if call.unit_id not in self._units:
            raise Refused(f"unknown unit {call.unit_id!r} in {self.spec.channel_id}")
        if call.kind not in self.spec.rules.kinds:
            allowed = "、".join(INFO_KIND_ZH[k] for k in self.spec.rules.kinds)
            raise Refused(f"this channel takes {allowed}, not {INFO_KIND_ZH[call.kind]}")
        if call.work_area and call.work_area not in self.spec.work_areas:
            raise Refused(f"unknown work area {call.work_area!r} (the plan's: {'; '.join(self.spec.work_areas)})")
        if not call.title.strip():
            raise Refused("an item needs a title")
        if call.body is None and not call.attachments:
            raise Refused("an item needs a text or at least one file")
        if call.resubmit_of is not None:
            old = self.item(call.resubmit_of)
            if old is None or old.unit_id != call.unit_id:
                raise Refused(f"unit {call.unit_id} has no item {call.resubmit_of} in this channel to resubmit")
            if old.state is not InfoState.RETURNED or old.settled_at is not None:
                what = "its resubmission window has ended" if old.settled_at else STATE_ZH[old.state.value]
                raise Refused(f"item {call.resubmit_of} cannot be resubmitted ({what})")
        capped = item_refusal(self.state, call)
        if capped:
            raise Refused(capped)

    def _pending(self, no: int) -> InfoItem:
        item = self.item(no)
        if item is None:
            raise Refused(f"no item {no} waiting in {self.spec.channel_id}")
        return item

    def check_decide(self, call: DecideItem) -> None:
        self._check_open()
        item = self._pending(call.no)
        if item.state is not InfoState.PENDING:
            raise Refused(f"item {item_id(self.spec.channel_id, call.no)} is already {STATE_ZH[item.state.value]}")
        if call.decision is Decision.RETURN and not call.note.strip():
            raise Refused("returning an item needs a note saying what to add or change")
        too_long = decision_refusal(self.state, call)
        if too_long:
            raise Refused(too_long)
        if call.decision is Decision.ADOPT and self.forwards:
            # The handler computes the limit; a rule that cannot be computed must be refused here.
            try:
                self._forward_due(self.spec.opened_at)
            except (ValueError, OverflowError) as exc:
                raise Refused(f"the forwarding limit cannot be computed: {exc}") from exc

    def check_forward(self, call: ForwardItem) -> None:
        self._check_open()
        if not self.forwards:
            raise Refused("this office has no upper office to forward to")
        item = self._pending(call.no)
        if item.state is not InfoState.ADOPTED or item.settled_at is not None:
            done = "already went up" if item.forwarded_at else STATE_ZH[item.state.value]
            raise Refused(f"item {item_id(self.spec.channel_id, call.no)} is not waiting to go up ({done})")

    def check_close(self) -> None:
        self._check_open()

    def check_revoke(self, unit_id: str) -> None:
        # A closed channel still takes this: its portal page keeps showing the unit's items.
        if unit_id not in self._units:
            raise Refused(f"unknown unit {unit_id!r} in {self.spec.channel_id}")

    # -- applying calls --------------------------------------------------------------------------

    def apply_submit(self, call: SubmitItem, now: dt.datetime) -> InfoReceipt:
        activity = self.state.activity.setdefault(call.unit_id, UnitActivity())
        activity.last_item_at = now
        by = call.by or call.unit_id
        if call.resubmit_of is not None:
            item = self._pending(call.resubmit_of)
            before = self._tally(item)
            before.returned -= 1
            if call.kind is not item.kind:
                # The item now counts under its new kind (same unit, same month).
                before.sent -= 1
                item.kind = call.kind
                self._tally(item).sent += 1
            item.version += 1
            item.title, item.work_area = call.title.strip(), call.work_area
            item.body, item.attachments = call.body, call.attachments
            item.state, item.note = InfoState.PENDING, ""
            item.decided_at, item.decided_by = None, ""
            item.events.append(ItemEvent(at=now, what="resubmitted", by=by))
            message = f"已收到修改后的信息（第{item.version}稿），等待审核"
        else:
            item = InfoItem(
                no=self.state.next_no,
                unit_id=call.unit_id,
                kind=call.kind,
                title=call.title.strip(),
                body=call.body,
                attachments=call.attachments,
                work_area=call.work_area,
                submitted_at=now,
                month=month_of(now, self.spec.tz),
                origin=call.origin,
                events=[ItemEvent(at=now, what="submitted", by=by)],
            )
            self.state.next_no += 1
            self.state.items.append(item)
            self._tally(item).sent += 1
            message = "已收到，等待审核"
        ident = item_id(self.spec.channel_id, item.no)
        self._to_unit(item, Template.INFO_RECEIPT, f"receipt-v{item.version}", receipt_no=ident)
        return InfoReceipt(
            channel_id=self.spec.channel_id,
            item_id=ident,
            no=item.no,
            unit_id=item.unit_id,
            version=item.version,
            accepted_at=now,
            message=message,
        )

    def apply_decide(self, call: DecideItem, now: dt.datetime) -> ItemResult:
        item = self._pending(call.no)
        item.state = DECISION_STATE[call.decision]
        item.decided_at, item.decided_by, item.note = now, call.by, call.note.strip()
        item.events.append(ItemEvent(at=now, what=item.state.value, by=call.by, note=item.note))
        tally = self._tally(item)
        if call.decision is Decision.ADOPT:
            tally.adopted += 1
            if self.forwards:
                item.forward_due = self._forward_due(now)
            else:
                item.settled_at = now
        elif call.decision is Decision.FILE:
            tally.filed += 1
            item.settled_at = now
        else:
            tally.returned += 1
        self._to_unit(item, Template.INFO_DECIDED, f"{item.state.value}-v{item.version}", reason=item.note)
        ident = item_id(self.spec.channel_id, item.no)
        words = {InfoState.ADOPTED: "已采用", InfoState.RETURNED: "已退回修改", InfoState.FILED: "已存档"}
        return ItemResult(
            channel_id=self.spec.channel_id,
            item_id=ident,
            state=item.state,
            message=f"{ident} {words[item.state]}",
            forward_due=item.forward_due,
        )

    def apply_forward(self, call: ForwardItem, now: dt.datetime) -> ItemResult:
        item = self._pending(call.no)
        item.forward_asked = True
        item.events.append(ItemEvent(at=now, what="forward_asked", by=call.by))
        ident = item_id(self.spec.channel_id, item.no)
        return ItemResult(
            channel_id=self.spec.channel_id,
            item_id=ident,
            state=item.state,
            message=f"{ident} 将立即上报",
            forward_due=item.forward_due,
        )

    def apply_revoke(self, unit_id: str, now: dt.datetime) -> None:
        self.state.activity.setdefault(unit_id, UnitActivity()).links_valid_from = now

    def apply_close(self, by: str, now: dt.datetime) -> None:
        self.state.closed_at, self.state.closed_by = now, by

    def forwarded(self, item: InfoItem, now: dt.datetime, how: str, detail: str) -> None:
        """Record where an item went up (or why it could not)."""
        item.forwarded_at = now if how != "none" else None
        item.forwarded_how, item.forward_detail = how, detail
        item.forward_asked = False
        item.settled_at = now
        item.events.append(ItemEvent(at=now, what="forwarded" if how != "none" else "not_forwarded", note=detail))

    def forward_by_mail(self, item: InfoItem) -> list[Notification]:
        upper = self.spec.upper_office
        if upper is None or not upper.email:
            return []
        unit = self.unit(item.unit_id)
        context = self._context().model_copy(
            update={"unit_id": unit.id, "unit_name": unit.name, "item": self._line(item)}
        )
        person = Person(name=upper.name, email=upper.email)
        files = ([item.body] if item.body else []) + item.attachments
        return [
            Notification(
                key=f"{self.spec.channel_id}/forward/{item.no}/upper_office/{_address(person)}",
                template=Template.INFO_FORWARD,
                locale=self.spec.locale,
                to=person,
                role="upper_office",
                context=context,
                attachments=files,
            )
        ]

    def take_settled(self) -> list[InfoItem]:
        """Settled items to page out, oldest first; they leave the state."""
        out = self.settled_items()
        keep = [i for i in self.state.items if i.settled_at is None]
        self.state.items = keep
        return out

    # -- the agenda ------------------------------------------------------------------------------

    def agenda(self) -> list[Moment]:
        if self.closed:
            return []
        out: list[Moment] = []
        rules, cal = self.spec.rules, self.spec.calendar
        for item in self.waiting():
            if item.forward_due is None:
                continue
            fired = {e.what for e in item.events}
            for m in reminder_moments(item.forward_due.at, rules.forward_reminders, cal, rules.send_window):
                if item.decided_at is not None and m.at > item.decided_at and f"forward_reminder:{m.key}" not in fired:
                    out.append(Moment(m.at, "remind", m.key, item.no))
            out.append(Moment(self._auto_forward_at(item), "forward", "limit", item.no))
        for item in self.state.items:
            if item.state is InfoState.RETURNED and item.settled_at is None and item.decided_at is not None:
                out.append(Moment(item.decided_at + dt.timedelta(days=rules.resubmit_days), "expire", "", item.no))
        if rules.quiet_days:
            for unit in self.spec.units:
                act = self.state.activity.get(unit.id, UnitActivity())
                since = max(d for d in (self.spec.opened_at, act.last_item_at, act.quiet_reminded_at) if d is not None)
                out.append(Moment(self._in_window(since + dt.timedelta(days=rules.quiet_days)), "quiet", unit.id))
        return sorted(out, key=lambda m: (m.at, m.what, m.no, m.key))

    def next_moment(self) -> Moment | None:
        moments = self.agenda()
        return moments[0] if moments else None

    def fire_due(self, now: dt.datetime) -> list[InfoItem]:
        """Act on every moment at or before now except forwarding; returns the items to send up now."""
        reminders: list[tuple[InfoItem, str]] = []
        for m in self.agenda():
            if m.at > now:
                break
            if m.what == "remind":
                item = self._pending(m.no)
                item.events.append(ItemEvent(at=now, what=f"forward_reminder:{m.key}", by=ENGINE))
                reminders.append((item, m.key))
            elif m.what == "expire":
                item = self._pending(m.no)
                item.settled_at = now
                item.events.append(ItemEvent(at=now, what="expired", by=ENGINE, note="未在规定时间内重新报送"))
            elif m.what == "quiet":
                self._quiet(m.key, now)
        if reminders:
            self._office_reminder(reminders, now)
        return self.to_forward_now(now)

    def announce(self) -> None:
        """Tell every unit the channel is open, with its own portal link (sent once, when the channel starts)."""
        for unit in self.spec.units:
            context = self._context().model_copy(
                update={"unit_id": unit.id, "unit_name": unit.name, "portal_link": True}
            )
            self._queue(unit.contacts, Template.INFO_OPENED, f"opened/{unit.id}", context, "unit_contact")

    def _quiet(self, unit_id: str, now: dt.datetime) -> None:
        act = self.state.activity.setdefault(unit_id, UnitActivity())
        act.quiet_reminded_at = now
        unit = self.unit(unit_id)
        days = self.spec.rules.quiet_days or 0
        context = self._context().model_copy(
            update={"unit_id": unit.id, "unit_name": unit.name, "portal_link": True, "quiet_days": days}
        )
        tag = now.strftime("%Y%m%d")
        self._queue(unit.contacts, Template.INFO_QUIET, f"quiet-{tag}/{unit.id}", context, "unit_contact")

    def _office_reminder(self, due: list[tuple[InfoItem, str]], now: dt.datetime) -> None:
        # One line per item, even when two of its rungs fall due at once (a late worker).
        items = {item.no: item for item, _ in due}
        lines = [self._line(item) for item in items.values()]
        dues = [ln.due for ln in lines if ln.due is not None]
        earliest = min(dues, key=lambda d: d.at) if dues else None
        context = self._context().model_copy(update={"items": lines, "due": earliest})
        office = self.spec.office
        people = list(office.staff) or ([Person(name=office.name, email=office.email)] if office.email else [])
        tag = now.strftime("%Y%m%dT%H%M")
        self._queue(people, Template.INFO_FORWARD_REMINDER, f"forward-reminder/{tag}", context, "office")

    # -- views -----------------------------------------------------------------------------------

    def board(self) -> InfoBoard:
        nxt = self.next_moment()
        return InfoBoard(
            channel_id=self.spec.channel_id,
            campaign_id=self.spec.campaign_id,
            office_id=self.spec.office.id,
            title=self.spec.title,
            closed=self.closed,
            pending=sum(i.state is InfoState.PENDING for i in self.state.items),
            returned=sum(i.state is InfoState.RETURNED and i.settled_at is None for i in self.state.items),
            waiting=[self._waiting(i) for i in self.waiting()],
            total_items=self.state.next_no - 1,
            next_event_at=nxt.at if nxt else None,
        )

    def _waiting(self, item: InfoItem) -> WaitingItem:
        return WaitingItem(
            item_id=item_id(self.spec.channel_id, item.no),
            no=item.no,
            unit_id=item.unit_id,
            unit_name=self.unit(item.unit_id).name,
            kind=item.kind,
            title=item.title,
            adopted_at=item.decided_at,
            forward_due=item.forward_due,
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _forward_due(self, adopted_at: dt.datetime) -> Due:
        rule = self.spec.rules.forward_within
        assert rule is not None  # callers check `forwards`
        return compute_due(adopted_at, rule, self.spec.calendar)

    def _auto_forward_at(self, item: InfoItem) -> dt.datetime:
        assert item.forward_due is not None
        return max(item.forward_due.at - FORWARD_MARGIN, item.decided_at or item.submitted_at)

    def _in_window(self, at: dt.datetime) -> dt.datetime:
        tz = ZoneInfo(self.spec.calendar.tz)
        view = CalendarView(self.spec.calendar)
        return snap_later(at.astimezone(tz), self.spec.rules.send_window, view).astimezone(dt.UTC)

    def _tally(self, item: InfoItem) -> Tally:
        return self.state.tallies.setdefault(tally_key(item.unit_id, item.month, item.kind), Tally())

    def _line(self, item: InfoItem) -> ItemLine:
        return ItemLine(
            item_id=item_id(self.spec.channel_id, item.no),
            unit_name=self.unit(item.unit_id).name,
            kind=INFO_KIND_ZH[item.kind],
            title=item.title,
            state=item.state.value,
            due=item.forward_due,
        )

    def _context(self) -> MessageContext:
        return MessageContext(
            document=self.spec.document,
            contact=self.spec.contact,
            office_name=self.spec.office.name,
            campaign_id=self.spec.campaign_id,
            # The unit's portal link is made for this scope: the channel's page, not a cycle's.
            cycle_id=self.spec.channel_id,
            obligation_title=self.spec.title,
        )

    def _to_unit(self, item: InfoItem, template: Template, step: str, **extra: object) -> None:
        unit = self.unit(item.unit_id)
        context = self._context().model_copy(
            update={"unit_id": unit.id, "unit_name": unit.name, "item": self._line(item), "portal_link": True, **extra}
        )
        self._queue(unit.contacts, template, f"{item.no}/{step}/{unit.id}", context, "unit_contact")

    def _queue(
        self, people: Iterable[Person], template: Template, stem: str, context: MessageContext, role: str
    ) -> None:
        seen: set[str] = set()
        for person in people:
            address = _address(person)
            if address in seen:
                continue
            seen.add(address)
            self.state.outbox.append(
                Notification(
                    key=f"{self.spec.channel_id}/{stem}/{role}/{address}",
                    template=template,
                    locale=self.spec.locale,
                    to=person,
                    role=role,
                    context=context,
                )
            )
