"""The stages of a case lead and their clocks: pure code the `LeadReferral` workflow drives.

`LeadBook` holds a lead's state. The workflow feeds it the clock (`now`) and the
calls; the book checks each call (`check_*`, which never changes anything, for
Update validators), applies it (`apply_*`), places every open stage's reminders,
due moment and escalations on the calendar, fires what is due and queues the
notifications. No temporalio import, no clock, no I/O: this is tested directly.

Track order (one track per receiving unit, each with its own clock — 协办):

    sign → decide ─ open ──────→ feedback (cadence) + close → closed
                   ├ decline ──→ reconsider_request → reconsider → (open | declined)
                   ├ transfer ─→ (track ends; a new track for the other agency starts at sign)
                   └ police ───→ approve → transfer → file ─ open ───→ handover → handed_over
                                                              └ decline → reconsider_request → reconsider
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.lead_wording import LIMIT_UNIT_ZH, TRACK_STATE_ZH, decision_zh, stage_zh
from domain.legaltime.ladder import escalation_moments, reminder_moments
from domain.legaltime.periods import compute_due
from schemas.blobs import BlobRef
from schemas.calendar import Due, DueRule, HolidayCalendar, LadderStep
from schemas.cycle import NewCalendar
from schemas.lead import (
    Actor,
    Approve,
    CloseLead,
    Decide,
    DecideLeadExtension,
    Decision,
    ExtensionState,
    GiveFeedback,
    HandOver,
    Involve,
    LeadCall,
    LeadDeadlinesMoved,
    LeadEvent,
    LeadExtension,
    LeadInput,
    LeadReceipt,
    LeadRecipient,
    LeadStatus,
    LeadUnit,
    ReferralPolicy,
    ReferralStageSpec,
    RequestLeadExtension,
    RequestReconsideration,
    SignFor,
    StageName,
    StageRecord,
    Track,
    TrackState,
    Transfer,
)
from schemas.notify import MessageContext, Notification, Template
from schemas.people import Person


class Refused(ValueError):
    """A call the lead cannot accept now; the message says why (shown to the caller as is)."""


# The track order of the module docstring as rows a page draws: the main line, then each branch of the
# decision that leaves it (the branch's decision, the stages it opens). Every StageName is in one row.
STAGE_DIAGRAM: tuple[tuple[Decision | None, tuple[StageName, ...]], ...] = (
    (None, (StageName.SIGN, StageName.DECIDE, StageName.FEEDBACK, StageName.CLOSE)),
    (Decision.DECLINE, (StageName.RECONSIDER_REQUEST, StageName.RECONSIDER)),
    (Decision.POLICE, (StageName.APPROVE, StageName.TRANSFER, StageName.FILE, StageName.HANDOVER)),
)


# The longest real 放假调休安排 lists about 30 rest days; a year with far more is a broken file.
MAX_HOLIDAYS_A_YEAR = 100


@dataclass(frozen=True)
class AgendaItem:
    """One future event of an open stage: a reminder, its due moment, or an escalation rung."""

    at: datetime
    record: StageRecord
    key: str  # "reminder:<k>", "due", "escalation:<k>"
    level: int = 0
    recipients: tuple[LeadRecipient, ...] = ()

    @property
    def summary(self) -> str:
        return f"{self.record.track} {self.record.name.value}#{self.record.seq} {self.key}"


_TERMINAL_TEXT = TRACK_STATE_ZH


def _with_materials(note: str, materials: list[BlobRef]) -> str:
    """A note followed by the names of the materials that came with it (their bytes stay in the blob store)."""
    if not materials:
        return note
    names = "、".join(m.name or m.sha256[:12] for m in materials)
    return f"{note}（材料：{names}）" if note else f"材料：{names}"


def _persons(people: Iterable[Person | None]) -> list[Person]:
    return [p for p in people if p is not None]


class LeadBook:
    """One lead's tracks, stage records, timeline and outbox."""

    def __init__(self, spec: LeadInput) -> None:
        self.spec = spec
        self.units: dict[str, LeadUnit] = {spec.referrer.id: spec.referrer}
        self.tracks: dict[str, Track] = {}
        self.records: list[StageRecord] = []
        self.timeline: list[LeadEvent] = []
        self.involved: list[str] = []
        self.outbox: list[Notification] = []
        self.escalation_level = 0
        # Per unit: its lead links made before this moment are refused (the office revoked them).
        self.links_valid_from: dict[str, datetime] = {}
        self._agenda_cache: dict[tuple[str, StageName, int], list[AgendaItem]] = {}

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open every receiver's track at the referral moment."""
        at = self.spec.referred_at
        names = ", ".join(r.id for r in self.spec.receivers)
        policy = self.spec.policy.title or self.spec.policy.name
        self._event(at, "referred", self.spec.referrer.id, self.spec.by, "", f"移送至 {names}；适用 {policy}")
        direct_310 = self.spec.policy.stage(StageName.SIGN) is None
        for receiver in self.spec.receivers:
            self.units[receiver.id] = receiver
            track = Track(unit=receiver.id)
            if direct_310:
                # Referred straight under Decree 310: the referrer is the agency, the receiver the police.
                track.police_phase, track.agency, track.police = True, self.spec.referrer.id, receiver.id
            self.tracks[receiver.id] = track
            self._open(track, StageName.SIGN if not direct_310 else StageName.APPROVE, at)

    @property
    def closed(self) -> bool:
        return all(t.state is not TrackState.ACTIVE for t in self.tracks.values())

    def open_records(self) -> list[StageRecord]:
        return [r for r in self.records if r.done_at is None]

    # ---- policy and roles --------------------------------------------------------------------

    def policy_of(self, track: Track) -> ReferralPolicy:
        if track.police_phase and self.spec.policy.stage(StageName.APPROVE) is None:
            assert self.spec.police_policy is not None  # checked before entering the police phase
            return self.spec.police_policy
        return self.spec.policy

    def _policy_named(self, name: str) -> ReferralPolicy:
        police = self.spec.police_policy
        return police if police is not None and police.name == name else self.spec.policy

    def stage_spec(self, record: StageRecord) -> ReferralStageSpec:
        spec = self._policy_named(record.policy).stage(record.name)
        assert spec is not None  # a record is only opened for a stage its policy has
        return spec

    def actor_unit(self, track: Track, actor: Actor) -> str:
        if actor is Actor.REFERRER:
            return self.spec.referrer.id
        if actor is Actor.RECEIVER:
            return track.unit
        if actor is Actor.AGENCY:
            return track.agency or self.spec.referrer.id
        return track.police or track.unit

    def _recipients(self, record: StageRecord, roles: Iterable[LeadRecipient]) -> list[tuple[str, Person]]:
        """(role, person) pairs, each person once (by email, else name) in the order of the roles."""
        track = self.tracks[record.track]
        actor = self.units[record.unit]
        agency = self.units[track.agency or self.spec.referrer.id]
        referrer = self.spec.referrer
        by_role: dict[LeadRecipient, list[Person]] = {
            LeadRecipient.ACTOR: actor.contacts,
            LeadRecipient.ACTOR_LEADER: _persons([actor.leader]),
            LeadRecipient.REFERRER: referrer.contacts,
            LeadRecipient.REFERRER_LEADER: _persons([referrer.leader]),
            LeadRecipient.AGENCY: agency.contacts,
            LeadRecipient.LEADERSHIP: self.spec.leadership,
            LeadRecipient.OFFICE: self.spec.office_staff,
        }
        seen: set[str] = set()
        out: list[tuple[str, Person]] = []
        for role in roles:
            for person in by_role[role]:
                ident = person.email or f"name:{person.name}"
                if ident not in seen:
                    seen.add(ident)
                    out.append((role.value, person))
        return out

    # ---- stages ------------------------------------------------------------------------------

    def _open(self, track: Track, name: StageName, start: datetime) -> StageRecord | None:
        """Open a stage on a track if its policy has it; None when the policy skips it."""
        policy = self.policy_of(track)
        spec = policy.stage(name)
        if spec is None:
            return None
        due = compute_due(start, spec.limit, self.spec.calendar)
        seq = sum(1 for r in self.records if r.track == track.unit and r.name is name)
        record = StageRecord(
            track=track.unit,
            name=name,
            policy=policy.name,
            seq=seq,
            unit=self.actor_unit(track, spec.actor),
            started_at=start,
            due=due.at,
            due_rule=due.rule,
            due_rule_zh=due.rule_zh,
            provisional=due.provisional,
            optional=spec.optional,
        )
        self.records.append(record)
        self._notify(record, "opened", [LeadRecipient.ACTOR], start)
        return record

    def _done(self, record: StageRecord, at: datetime, outcome: str, met: bool | None = None) -> None:
        at = at.astimezone(UTC)  # assignment skips the model's validators; keep stored moments in UTC
        record.done_at = at
        record.met = (at <= record.due) if met is None else met
        record.outcome = outcome
        if record.unit != self.spec.referrer.id:
            # The referring unit hears about every step of its lead.
            self._notify(record, "done", [LeadRecipient.REFERRER], at, detail=outcome)

    def _end_track(self, track: Track, state: TrackState, at: datetime, result: str = "") -> None:
        at = at.astimezone(UTC)
        track.state = state
        track.result = result or _TERMINAL_TEXT[state]
        for record in self.open_records():
            if record.track == track.unit:
                # A feedback cadence ends with the case; it was not missed by ending.
                record.done_at, record.met, record.outcome = at, at <= record.due, "随办理结束"
        self._event(at, f"track:{state.value}", track.unit, "", track.unit, track.result)
        if self.closed:
            self._event(at, "closed", "", "", "", "各承办单位均已办结")

    def _agenda_of(self, record: StageRecord) -> list[AgendaItem]:
        cache_key = (record.track, record.name, record.seq)
        cached = self._agenda_cache.get(cache_key)
        if cached is not None:
            return cached
        spec = self.stage_spec(record)
        window = self._policy_named(record.policy).send_window
        cal = self.spec.calendar
        items: list[AgendaItem] = []
        for moment in reminder_moments(record.due, spec.reminders, cal, window):
            # A rung that falls before the stage opened (a short limit, a long ladder) is dropped.
            if moment.at > record.started_at:
                items.append(AgendaItem(moment.at, record, f"reminder:{moment.key}", 0, (LeadRecipient.ACTOR,)))
        items.append(AgendaItem(record.due, record, "due"))
        steps: dict[str, tuple[int, LadderStep, tuple[LeadRecipient, ...]]] = {
            e.step.key: (i + 1, e.step, tuple(e.recipients)) for i, e in enumerate(spec.escalations)
        }
        for moment in escalation_moments(record.due, [s for _, s, _ in steps.values()], cal, window):
            level, _, recipients = steps[moment.key]
            items.append(AgendaItem(moment.at, record, f"escalation:{moment.key}", level, recipients))
        items.sort(key=lambda i: (i.at, i.key))
        self._agenda_cache[cache_key] = items
        return items

    def agenda(self) -> list[AgendaItem]:
        """Every event still to come, earliest first."""
        items = [i for r in self.open_records() for i in self._agenda_of(r) if i.key not in r.fired]
        return sorted(items, key=lambda i: (i.at, i.summary))

    def next_moment(self) -> AgendaItem | None:
        upcoming = self.agenda()
        return upcoming[0] if upcoming else None

    def fire_due(self, now: datetime) -> int:
        """Fire every agenda item at or before now; returns how many fired."""
        fired = 0
        while True:
            ready = [i for i in self.agenda() if i.at <= now]
            if not ready:
                return fired
            item = ready[0]
            record = item.record
            record.fired.append(item.key)
            fired += 1
            if item.key.startswith("reminder:"):
                self._notify(record, "reminder", item.recipients, now, step=item.key)
            elif item.key == "due":
                self._missed(record, now)
            else:
                record.escalation_level = max(record.escalation_level, item.level)
                self.escalation_level = max(self.escalation_level, item.level)
                self._event(now, f"escalation:{item.level}", record.unit, "duban", record.track, stage_zh(record.name))
                self._notify(record, "missed", item.recipients, now, step=item.key, level=item.level)

    def _missed(self, record: StageRecord, now: datetime) -> None:
        if not record.optional:
            self._event(now, "missed", record.unit, "duban", record.track, f"{stage_zh(record.name)}未按时完成")
            return
        # An optional step (asking for reconsideration) lapses: the refusal stands.
        self._done(record, now, "期限内未提请复议，原决定维持")
        record.met = None  # nothing was owed: the right to ask simply lapsed
        track = self.tracks[record.track]
        self._end_track(track, TrackState.NOT_FILED if track.police_phase else TrackState.DECLINED, now)

    # ---- status ------------------------------------------------------------------------------

    def stage_label(self) -> str:
        if self.closed:
            return "closed"
        open_ = self.open_records()
        main = [r for r in open_ if r.name is not StageName.FEEDBACK] or open_
        return min(main, key=lambda r: (r.due, r.track)).name.value

    def earliest_due(self) -> datetime | None:
        open_ = self.open_records()
        return min(r.due for r in open_) if open_ else None

    def unit_ids(self) -> list[str]:
        ids = [self.spec.referrer.id, *self.tracks]
        for track in self.tracks.values():
            ids.extend(u for u in (track.agency, track.police) if u)
        ids.extend(self.involved)
        return list(dict.fromkeys(ids))

    def status(self, now: datetime) -> LeadStatus:
        return LeadStatus(
            lead_id=self.spec.lead_id,
            campaign_id=self.spec.campaign_id,
            title=self.spec.title,
            policy=self.spec.policy.name,
            referrer=self.spec.referrer.id,
            referred_at=self.spec.referred_at,
            now=now,
            stage=self.stage_label(),
            closed=self.closed,
            escalation_level=self.escalation_level,
            due_at=self.earliest_due(),
            units=self.unit_ids(),
            tracks=[t.model_copy() for t in self.tracks.values()],
            stages=[self._viewed(r) for r in self.records],
            timeline=[e.model_copy() for e in self.timeline],
            content=self.spec.content,
            tz=self.spec.calendar.tz,
            links_valid_from=dict(self.links_valid_from),
        )

    def _viewed(self, record: StageRecord) -> StageRecord:
        """A copy for the views, with how much longer the office may still grant."""
        spec = self.stage_spec(record)
        left = 0 if record.done_at is not None else spec.extension_allowed(self._statutory(record)) - record.extended
        unit = LIMIT_UNIT_ZH[spec.limit.kind]
        return record.model_copy(update={"extension_left": max(left, 0), "extension_unit": unit})

    # ---- calls: checks (never change anything) -----------------------------------------------

    def _find(self, call: LeadCall, stages: set[StageName], action: str) -> StageRecord:
        if self.closed:
            raise Refused(f"线索 {self.spec.lead_id} 已办结，不能再{action}")
        if call.track is not None and call.track not in self.tracks:
            raise Refused(f"线索 {self.spec.lead_id} 没有 {call.track} 承办的办理轨道")
        open_ = [r for r in self.open_records() if call.track is None or r.track == call.track]
        matches = [r for r in open_ if r.name in stages and r.unit == call.unit_id]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            tracks = ", ".join(sorted(r.track for r in matches))
            raise Refused(f"{call.unit_id} 在多个办理轨道（{tracks}）中承办，请用 --track 指明")
        if call.unit_id not in self.unit_ids():
            raise Refused(f"{call.unit_id} 不是线索 {self.spec.lead_id} 的有关单位，不能{action}")
        waiting = "；".join(
            f"{r.unit} {stage_zh(r.name)}" + (f"（{r.track} 轨道）" if len(self.tracks) > 1 else "") for r in open_
        )
        wanted = "/".join(stage_zh(s) for s in sorted(stages))
        raise Refused(
            f"{call.unit_id} 现在不能{action}：需要 {call.unit_id} 处于{wanted}阶段，而线索正在等待：{waiting or '无'}"
        )

    def check_sign_for(self, call: SignFor) -> StageRecord:
        return self._find(call, {StageName.SIGN}, "签收")

    def check_decide(self, call: Decide) -> StageRecord:
        record = self._find(call, {StageName.DECIDE, StageName.FILE, StageName.RECONSIDER}, "作出决定")
        track = self.tracks[record.track]
        if record.name is not StageName.DECIDE and call.decision not in (Decision.OPEN, Decision.DECLINE):
            raise Refused(
                f"{stage_zh(record.name)}阶段只能决定立案（open）或不予立案（decline），不能{decision_zh(call.decision)}"
            )
        if call.decision in (Decision.TRANSFER, Decision.POLICE):
            assert call.to is not None  # the model requires it
            target = call.to.id
            if target in (call.unit_id, self.spec.referrer.id):
                raise Refused(f"不能{decision_zh(call.decision)}给 {target}：该单位已在办理此线索")
            if call.decision is Decision.TRANSFER and target in self.tracks:
                raise Refused(f"{target} 在此线索中已有办理轨道")
            if call.decision is Decision.POLICE and self.spec.police_policy is None and not track.police_phase:
                raise Refused(
                    f"规则 {self.spec.policy.name} 未指定移送公安机关的规则（no police policy），不能移送公安机关"
                )
        return record

    def check_give_feedback(self, call: GiveFeedback) -> StageRecord:
        return self._find(call, {StageName.FEEDBACK}, "进展反馈")

    def check_close(self, call: CloseLead) -> StageRecord:
        return self._find(call, {StageName.CLOSE}, "办结")

    def check_approve(self, call: Approve) -> StageRecord:
        if not call.approve and not call.reason.strip():
            raise Refused("不批准移送须说明理由")
        return self._find(call, {StageName.APPROVE}, "审批移送")

    def check_transfer(self, call: Transfer) -> StageRecord:
        return self._find(call, {StageName.TRANSFER}, "移送公安机关")

    def check_request_reconsideration(self, call: RequestReconsideration) -> StageRecord:
        return self._find(call, {StageName.RECONSIDER_REQUEST}, "提请复议")

    def check_hand_over(self, call: HandOver) -> StageRecord:
        return self._find(call, {StageName.HANDOVER}, "移交材料")

    # ---- extensions (延期申请): the acting unit asks, the office grants or refuses -----------------

    def _statutory(self, record: StageRecord) -> bool:
        return self._policy_named(record.policy).statutory

    def _extension_rule(self, record: StageRecord, days: int) -> DueRule:
        """An extension counts in the stage limit's own unit (working days stay working days), from the current due."""
        limit = self.stage_spec(record).limit
        return DueRule(kind=limit.kind, n=days, roll=limit.roll, close=limit.close)

    def _counted(self, record: StageRecord, cal: HolidayCalendar) -> Due:
        """A stage's due moment on `cal`: its limit from its start, then the extensions the office granted."""
        due = compute_due(record.started_at, self.stage_spec(record).limit, cal)
        if not record.extended:
            return due
        extended = compute_due(due.at, self._extension_rule(record, record.extended), cal)
        unit = LIMIT_UNIT_ZH[self.stage_spec(record).limit.kind]
        return extended.model_copy(
            update={
                "rule": f"{due.rule}; extended by {record.extended}: {extended.rule}",
                "rule_zh": f"{due.rule_zh}；经批准延期{record.extended}{unit}：{extended.rule_zh}",
            }
        )

    def _extended_due(self, record: StageRecord, days: int) -> Due:
        """The due moment after granting `days` more, with its ladder placed (raising what they raise)."""
        trial = record.model_copy(update={"extended": record.extended + days})
        due = self._counted(trial, self.spec.calendar)
        spec = self.stage_spec(record)
        window = self._policy_named(record.policy).send_window
        reminder_moments(due.at, spec.reminders, self.spec.calendar, window)
        escalation_moments(due.at, [e.step for e in spec.escalations], self.spec.calendar, window)
        return due

    def _room(self, record: StageRecord, days: int) -> None:
        """Refuse more than the policy lets the office grant for this stage, and a limit that cannot be counted."""
        name = stage_zh(record.name)
        if self._statutory(record):
            raise Refused(
                f"{name}时限是《行政执法机关移送涉嫌犯罪案件的规定》（国务院令第310号）规定的法定时限，不能延期"
            )
        spec = self.stage_spec(record)
        allowed = spec.extension_allowed(statutory=False)
        if allowed == 0:
            raise Refused(f"本专项行动的规则不允许延长{name}时限")
        left = allowed - record.extended
        unit = LIMIT_UNIT_ZH[spec.limit.kind]
        if days > left:
            already = f"（已延期{record.extended}{unit}）" if record.extended else ""
            raise Refused(f"{name}时限最多还能延长{max(left, 0)}{unit}{already}，不能延长{days}{unit}")
        try:
            self._extended_due(record, days)
        except (ValueError, OverflowError) as exc:
            raise Refused(f"延期{days}{unit}后的时限无法计算：{exc}") from None

    def _stage_of(self, call: RequestLeadExtension | DecideLeadExtension, action: str) -> StageRecord:
        """The open stage a call names (by stage, or the only one the unit has open on the track)."""
        if call.stage is not None:
            return self._find(call, {call.stage}, action)
        if self.closed:
            raise Refused(f"线索 {self.spec.lead_id} 已办结，不能再{action}")
        mine = [
            r
            for r in self.open_records()
            if r.unit == call.unit_id
            and (call.track is None or r.track == call.track)
            and (not isinstance(call, DecideLeadExtension) or self._pending(r))
        ]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            if call.unit_id not in self.unit_ids():
                raise Refused(f"{call.unit_id} 不是线索 {self.spec.lead_id} 的有关单位，不能{action}")
            what = "待审批的延期申请" if isinstance(call, DecideLeadExtension) else "正在计时的阶段"
            raise Refused(f"{call.unit_id} 在线索 {self.spec.lead_id} 中没有{what}，不能{action}")
        names = "、".join(f"{stage_zh(r.name)}（{r.track} 轨道）" for r in mine)
        raise Refused(f"{call.unit_id} 有多个正在计时的阶段（{names}），请指明阶段")

    @staticmethod
    def _pending(record: StageRecord) -> bool:
        return record.extension is not None and record.extension.state is ExtensionState.PENDING

    def check_request_extension(self, call: RequestLeadExtension, now: datetime) -> StageRecord:
        if not call.reason.strip():
            raise Refused("申请延期须说明理由")
        record = self._stage_of(call, "申请延期")
        name = stage_zh(record.name)
        if now > record.due:
            raise Refused(f"{name}时限已届满，不能再申请延期；请尽快办理")
        if self._pending(record):
            raise Refused(f"{name}阶段已有一份延期申请等待办公室审批")
        self._room(record, call.days)
        return record

    def check_decide_extension(self, call: DecideLeadExtension) -> StageRecord:
        record = self._stage_of(call, "审批延期")
        if record.extension is None or not self._pending(record):
            raise Refused(f"{call.unit_id} 在{stage_zh(record.name)}阶段没有待审批的延期申请")
        if call.approve:
            self._room(record, call.days or record.extension.days)
        elif not call.reason.strip():
            raise Refused("不予延期须说明理由")
        return record

    def check_revoke_links(self, unit_id: str) -> None:
        """A closed lead still takes this: its page stays readable through a leaked link until revoked."""
        if unit_id not in self.unit_ids():
            raise Refused(f"{unit_id} 不是线索 {self.spec.lead_id} 的有关单位")

    def check_involve(self, call: Involve) -> None:
        if self.closed:
            raise Refused(f"线索 {self.spec.lead_id} 已办结，不能再提前介入")
        if call.unit.id in self.involved:
            raise Refused(f"{call.unit.id} 已提前介入此线索（already involved）")
        if call.unit.id == self.spec.referrer.id or call.unit.id in self.tracks:
            raise Refused(f"{call.unit.id} 已在办理此线索；提前介入是公安机关或检察机关的事")

    def _recounted(self, cal: HolidayCalendar) -> list[tuple[StageRecord, Due]]:
        """Every open stage's due moment counted again on `cal`, its ladder placed too (raising what they raise)."""
        out: list[tuple[StageRecord, Due]] = []
        for record in self.open_records():
            spec = self.stage_spec(record)
            window = self._policy_named(record.policy).send_window
            due = self._counted(record, cal)
            reminder_moments(due.at, spec.reminders, cal, window)
            escalation_moments(due.at, [e.step for e in spec.escalations], cal, window)
            out.append((record, due))
        return out

    def check_update_calendar(self, call: NewCalendar) -> None:
        """New holiday data must be for the lead's zone, cover every open stage, and count each of them."""
        if self.closed:
            raise Refused(f"线索 {self.spec.lead_id} 已办结，无需重新计算时限")
        tz = self.spec.calendar.tz
        if call.calendar.tz != tz:
            raise Refused(f"节假日数据的时区是 {call.calendar.tz}，本线索按 {tz} 计算")
        zone = ZoneInfo(tz)
        needed = {
            year
            for r in self.open_records()
            for year in range(r.started_at.astimezone(zone).year, r.due.astimezone(zone).year + 1)
        }
        missing = sorted(needed - set(call.calendar.years))
        if missing:
            raise Refused(f"节假日数据缺少 {', '.join(map(str, missing))} 年，无法重新计算本线索的时限")
        crowded = [y.year for y in call.calendar.years.values() if len(y.holidays) > MAX_HOLIDAYS_A_YEAR]
        if crowded:
            # No State Council notice comes near it; a file like that is a mistake, and stages opened
            # later on it could find no working day (a handler failing after its validator passed).
            raise Refused(f"{crowded[0]} 年的节假日超过 {MAX_HOLIDAYS_A_YEAR} 天，不是一份放假安排")
        try:
            self._recounted(call.calendar)
            # The stages the next calls open start about when the open ones are due: count them too.
            policies = [p for p in (self.spec.policy, self.spec.police_policy) if p is not None]
            for record in self.open_records():
                for policy in policies:
                    for stage in policy.stages:
                        compute_due(record.due, stage.limit, call.calendar)
        except (ValueError, OverflowError) as exc:
            raise Refused(f"该节假日数据无法计算本线索的时限：{exc}") from None

    # ---- calls: apply (after a successful check) ---------------------------------------------

    def apply_update_calendar(self, call: NewCalendar, now: datetime) -> LeadDeadlinesMoved:
        """Holiday data arrived: every open stage is counted again; the acting unit hears of a moved deadline once."""
        self.check_update_calendar(call)
        recounted = self._recounted(call.calendar)
        self.spec.calendar = call.calendar
        moved: list[str] = []
        for record, due in recounted:
            previous = self._due_of(record)
            record.due, record.provisional = due.at, due.provisional
            record.due_rule, record.due_rule_zh = due.rule, due.rule_zh
            # Rungs already fired stay fired (no second reminder); the rest are placed on the new due.
            self._agenda_cache.pop((record.track, record.name, record.seq), None)
            if due.at == previous.at:
                continue
            name = stage_zh(record.name)
            moved.append(f"{record.track}:{record.name.value}#{record.seq}")
            self._event(now, "deadline_moved", record.unit, call.by, record.track, f"{name}：时限按新的节假日数据调整")
            # The new due in the key: the same move is one message however often it is asked for.
            step = f"moved:{due.at.astimezone(UTC):%Y%m%dT%H%M%S}"
            self._notify(record, "moved", [LeadRecipient.ACTOR], now, step=step, previous_due=previous)
        return LeadDeadlinesMoved(
            lead_id=self.spec.lead_id, moved=moved, message=f"{len(moved)} 个时限已调整" if moved else "时限不变"
        )

    def _receipt(self, action: str, call: LeadCall, record: StageRecord, now: datetime, message: str) -> LeadReceipt:
        track = self.tracks[record.track]
        nxt = [r for r in self.open_records() if r.track == track.unit]
        label = min(nxt, key=lambda r: r.due).name.value if nxt else track.state.value
        return LeadReceipt(
            lead_id=self.spec.lead_id,
            action=action,
            unit_id=call.unit_id,
            track=track.unit,
            accepted_at=now,
            stage=label,
            message=message,
            next_due=min((r.due for r in nxt), default=None),
        )

    def _late(self, record: StageRecord, now: datetime) -> str:
        return "（超时）" if now > record.due else ""

    def apply_sign_for(self, call: SignFor, now: datetime) -> LeadReceipt:
        record = self.check_sign_for(call)
        self._done(record, now, "已签收")
        self._event(now, "signed_for", call.unit_id, call.by, record.track, self._late(record, now))
        self._open(self.tracks[record.track], StageName.DECIDE, now)
        return self._receipt("sign_for", call, record, now, f"已签收{self._late(record, now)}")

    def apply_decide(self, call: Decide, now: datetime) -> LeadReceipt:
        record = self.check_decide(call)
        track = self.tracks[record.track]
        what = decision_zh(call.decision) + (f" → {call.to.id}" if call.to else "")
        detail = f"{what}：{call.reason}" if call.reason else what
        self._done(record, now, detail)
        self._event(now, f"decided:{call.decision.value}", call.unit_id, call.by, track.unit, call.reason)
        final_round = record.name is StageName.RECONSIDER
        if call.decision is Decision.OPEN:
            if track.police_phase:
                self._filed(track, now)
            else:
                self._open(track, StageName.FEEDBACK, now)
                if self._open(track, StageName.CLOSE, now) is None:
                    self._end_track(track, TrackState.CLOSED, now, "已立案")
        elif call.decision is Decision.DECLINE:
            refused = TrackState.NOT_FILED if track.police_phase else TrackState.DECLINED
            if final_round or self._open(track, StageName.RECONSIDER_REQUEST, now) is None:
                self._end_track(track, refused, now, call.reason)
        elif call.decision is Decision.TRANSFER:
            assert call.to is not None
            self._end_track(track, TrackState.TRANSFERRED, now, f"已转交 {call.to.id}")
            self.units[call.to.id] = call.to
            new = Track(unit=call.to.id)
            self.tracks[new.unit] = new
            self._open(new, StageName.SIGN, now)
        else:
            assert call.to is not None
            self.units[call.to.id] = call.to
            track.police_phase, track.agency, track.police = True, track.unit, call.to.id
            # Handing to the police is the case report reaching the agency head: Art. 5's 3 days start now.
            self._open(track, StageName.APPROVE, now)
        return self._receipt("decide", call, record, now, f"已记录决定：{what}{self._late(record, now)}")

    def _filed(self, track: Track, now: datetime) -> None:
        if self._open(track, StageName.HANDOVER, now) is None:
            self._end_track(track, TrackState.HANDED_OVER, now)

    def apply_give_feedback(self, call: GiveFeedback, now: datetime) -> LeadReceipt:
        record = self.check_give_feedback(call)
        self._done(record, now, call.text)
        self._event(now, "feedback", call.unit_id, call.by, record.track, call.text)
        # The cadence restarts from this feedback.
        self._open(self.tracks[record.track], StageName.FEEDBACK, now)
        return self._receipt("feedback", call, record, now, f"已记录进展反馈{self._late(record, now)}")

    def apply_close(self, call: CloseLead, now: datetime) -> LeadReceipt:
        record = self.check_close(call)
        self._done(record, now, call.result)
        self._event(now, "closed_track", call.unit_id, call.by, record.track, call.result)
        self._end_track(self.tracks[record.track], TrackState.CLOSED, now, call.result)
        return self._receipt("close", call, record, now, f"已办结{self._late(record, now)}")

    def apply_approve(self, call: Approve, now: datetime) -> LeadReceipt:
        record = self.check_approve(call)
        track = self.tracks[record.track]
        self._done(record, now, "批准移送" if call.approve else f"不批准移送：{call.reason}")
        self._event(now, "approved" if call.approve else "not_approved", call.unit_id, call.by, track.unit, call.reason)
        if call.approve:
            # Art. 5: transfer within 24 hours of approval.
            self._open(track, StageName.TRANSFER, now)
        else:
            self._end_track(track, TrackState.NOT_APPROVED, now, call.reason)
        return self._receipt("approve", call, record, now, "已批准移送" if call.approve else "不批准移送")

    def apply_transfer(self, call: Transfer, now: datetime) -> LeadReceipt:
        record = self.check_transfer(call)
        track = self.tracks[record.track]
        self._done(record, now, _with_materials(call.note or "已移送", call.materials))
        self._event(now, "transferred", call.unit_id, call.by, track.unit, _with_materials(call.note, call.materials))
        # Art. 8: the police decide on filing within 3 days of accepting the transfer.
        self._open(track, StageName.FILE, now)
        return self._receipt("transfer", call, record, now, f"已移送{self._late(record, now)}")

    def apply_request_reconsideration(self, call: RequestReconsideration, now: datetime) -> LeadReceipt:
        record = self.check_request_reconsideration(call)
        track = self.tracks[record.track]
        self._done(record, now, call.reason)
        self._event(now, "reconsideration_requested", call.unit_id, call.by, track.unit, call.reason)
        self._open(track, StageName.RECONSIDER, now)
        return self._receipt("request_reconsideration", call, record, now, "已提请复议")

    def apply_hand_over(self, call: HandOver, now: datetime) -> LeadReceipt:
        record = self.check_hand_over(call)
        track = self.tracks[record.track]
        self._done(record, now, _with_materials(call.note or "材料已移交", call.materials))
        self._event(now, "handed_over", call.unit_id, call.by, track.unit, _with_materials(call.note, call.materials))
        self._end_track(track, TrackState.HANDED_OVER, now)
        return self._receipt("hand_over", call, record, now, f"材料已移交{self._late(record, now)}")

    def apply_involve(self, call: Involve, now: datetime) -> LeadEvent:
        self.check_involve(call)
        self.units[call.unit.id] = call.unit
        self.involved.append(call.unit.id)
        event = self._event(now, "involved", call.unit.id, call.by, "", call.note or "提前介入")
        for i, person in enumerate(self.spec.referrer.contacts):
            self.outbox.append(
                Notification(
                    key=f"{self.spec.lead_id}:involve:{call.unit.id}:referrer:{i}",
                    template=Template.LEAD_STAGE,
                    to=person,
                    role="referrer",
                    context=self._context("involve", "done", now, unit=call.unit, reason=call.note),
                )
            )
        return event

    def apply_request_extension(self, call: RequestLeadExtension, now: datetime) -> LeadReceipt:
        record = self.check_request_extension(call, now)
        unit = LIMIT_UNIT_ZH[self.stage_spec(record).limit.kind]
        record.extension = LeadExtension(days=call.days, reason=call.reason, requested_at=now, by=call.by)
        detail = f"{stage_zh(record.name)}：申请延期{call.days}{unit}。理由：{call.reason}"
        self._event(now, "extension_requested", call.unit_id, call.by, record.track, detail)
        # The office decides: it hears at once, not at the next reminder.
        self._notify(
            record, "extension_requested", [LeadRecipient.OFFICE], now, step=self._ext_step(record), detail=detail
        )
        return self._receipt("request_extension", call, record, now, "延期申请已提交，等待办公室审批")

    def apply_decide_extension(self, call: DecideLeadExtension, now: datetime) -> LeadReceipt:
        record = self.check_decide_extension(call)
        ext = record.extension
        assert ext is not None  # checked
        step = self._ext_step(record)
        unit = LIMIT_UNIT_ZH[self.stage_spec(record).limit.kind]
        name = stage_zh(record.name)
        if call.approve:
            days = call.days or ext.days
            previous = self._due_of(record)
            due = self._extended_due(record, days)
            record.extended += days
            record.due, record.provisional, record.due_rule, record.due_rule_zh = (
                due.at,
                due.provisional,
                due.rule,
                due.rule_zh,
            )
            self._agenda_cache.pop((record.track, record.name, record.seq), None)
            # Rungs of the new ladder still ahead fire again (as new messages); those behind stay fired.
            ahead = {i.key for i in self._agenda_of(record) if i.at > now}
            record.fired = [k for k in record.fired if k not in ahead]
            ext.state, ext.granted_days = ExtensionState.GRANTED, days
            detail = f"{name}：同意延期{days}{unit}" + (f"。{call.reason}" if call.reason.strip() else "")
            what, message = "extension_granted", f"已批准延期{days}{unit}"
        else:
            previous = None
            ext.state = ExtensionState.REFUSED
            detail = f"{name}：不予延期。理由：{call.reason}"
            what, message = "extension_refused", "已不予延期"
        ext.decided_at, ext.decided_by, ext.answer = now, call.by, call.reason
        self._event(now, what, record.unit, call.by, record.track, detail)
        self._notify(
            record, what, [LeadRecipient.ACTOR], now, step=f"{step}:{ext.state.value}", detail=detail,
            previous_due=previous,
        )  # fmt: skip
        return self._receipt("decide_extension", call, record, now, message)

    @staticmethod
    def _ext_step(record: StageRecord) -> str:
        """The request's own mail key: one message per request and decision, however often a call retries."""
        assert record.extension is not None
        return f"extension:{record.extension.requested_at.astimezone(UTC):%Y%m%dT%H%M%S%f}"

    def apply_revoke_links(self, unit_id: str, by: str, reason: str, now: datetime) -> None:
        self.check_revoke_links(unit_id)
        self.links_valid_from[unit_id] = now
        self._event(now, "links_revoked", unit_id, by, "", reason)

    # ---- notes ---------------------------------------------------------------------------------

    def _event(self, at: datetime, what: str, unit: str, by: str, track: str, detail: str) -> LeadEvent:
        event = LeadEvent(at=at, what=what, unit=unit, by=by, track=track, detail=detail)
        self.timeline.append(event)
        return event

    def _context(
        self,
        stage: str,
        event: str,
        now: datetime,
        unit: LeadUnit,
        due: Due | None = None,
        level: int = 0,
        reason: str = "",
        previous_due: Due | None = None,
    ) -> MessageContext:
        return MessageContext(
            office_name=self.spec.office_name,
            campaign_id=self.spec.campaign_id,
            lead_id=self.spec.lead_id,
            lead_title=self.spec.title,
            unit_id=unit.id,
            unit_name=unit.name,
            stage=stage,
            stage_event=event,
            due=due,
            previous_due=previous_due,
            escalation_level=level,
            reason=reason,
        )

    def _notify(
        self,
        record: StageRecord,
        event: str,
        roles: Iterable[LeadRecipient],
        now: datetime,
        step: str = "",
        level: int = 0,
        detail: str = "",
        previous_due: Due | None = None,
    ) -> None:
        due = self._due_of(record)
        context = self._context(
            record.name.value, event, now, self.units[record.unit], due, level, detail, previous_due
        )
        # After a granted extension the ladder is placed again: its rungs are new messages, not repeats.
        again = f"+{record.extended}" if record.extended else ""
        scope = f"{self.spec.lead_id}:{record.track}:{record.name.value}#{record.seq}{again}:{step or event}"
        # The acting unit (and its leader) get the unit's own signed link to act on the lead; others
        # (the referrer, the office, leadership) hear about it without a link to act for that unit.
        acting = context.model_copy(update={"portal_link": True})
        for i, (role, person) in enumerate(self._recipients(record, roles)):
            mine = role in (LeadRecipient.ACTOR.value, LeadRecipient.ACTOR_LEADER.value)
            self.outbox.append(
                Notification(
                    key=f"{scope}:{role}:{i}",
                    template=Template.LEAD_STAGE,
                    to=person,
                    role=role,
                    context=acting if mine else context,
                    attachments=[],
                )
            )

    def _due_of(self, record: StageRecord) -> Due:
        return Due(
            at=record.due,
            tz=self.spec.calendar.tz,
            provisional=record.provisional,
            rule=record.due_rule,
            rule_zh=record.due_rule_zh,
        )

    def take_outbox(self) -> list[Notification]:
        out, self.outbox = self.outbox, []
        return out
