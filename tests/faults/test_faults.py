"""The fault suite: a 200-unit cycle and three leads on the real stack while we break it on purpose.

Schedule (seconds after the cycle opens; the plan puts the deadline four minutes away):
  the notice at 0, the reminder at 180, the deadline with the first escalation rung
  (unit leaders and the office) and the roll-up at 240, the bulletin (通报) at 300.
  100 units submit between 5 and 35 s, 50 submit once the bulletin has gone out, 50
  never; one lead is signed for during the server restart. The on-time reports must
  all be accepted before the reminder (a set-up check): they ride through three
  faults and, on a loaded 2-core machine, were seen accepted more than 25 s after
  their moment, so the reminder waits 145 s past the last of them.

The fault plan (`FAULT_PLAN`, eight faults): kill -9 the worker inside the notice,
the overdue and the bulletin batch (each waits for its batch to be partly delivered,
and fails if the batch never comes), once between ladder steps; take the blob store
away during submissions and again during the roll-up; kill -9 and restart the
Temporal dev server on the same SQLite file; stop the SMTP sink across the reminder.
The suite fails unless every planned fault happened, by kind and count.

What was owed is worked out from the plan and the clock, not from the workflow's
records: every unit's notice, a receipt for every submission we were given a receipt
for, the reminder, overdue notice, leader escalation and bulletin of every unit that
had not reported by then, the office's escalation, the bulletin to every unit and to
leadership; the leads' messages from their policy (the pure stage book fed with the
referral and the sign-for receipt). Then every owed notification must be in the
sent-ledger and its message in the Maildir, addressed to its recipient, exactly once
by Message-ID (the documented window — a message accepted by the server but not yet
recorded when the worker died — may produce a duplicate, tolerated only up to one per
fault that can open that window), nothing else sent, no submission lost or doubled.
Last, the Temporal server's raw SQLite file (and its WAL) after this real cycle holds
no unit name, address, contact, report text or lead content in clear text.

The seed comes from FAULT_SEED (tests/conftest.py removes every DUBAN_* variable) and
is printed before anything else: `FAULT_SEED=N pytest tests/faults` repeats a run.
How late each step fired is a figure for bench/, not an assertion here.
"""

import asyncio
import datetime as dt
import os
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import message_from_binary_file, policy
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from activities.mime import message_id
from activities.sent_ledger import SentEntry, SentLedger
from console import client_calls
from domain import timeline
from domain.lead_stages import LeadBook
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import CycleSpec, CycleStatus, Receipt, SubmitReport, UnitView
from schemas.lead import LeadInput, LeadReceipt, LeadStatusQuery, SignFor
from schemas.plan import DueSpec, EscalationStep, Recipient
from tests.faults.stack import FaultStack
from tests.lead_support import MARKET, lead_input
from tests.plans import cycle_input, ladder_obligation, plan
from workers.codec import codec_from_settings
from workers.temporal import connect
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

N_UNITS = 200
ON_TIME = [f"u{i}" for i in range(1, 101)]
LATE = [f"u{i}" for i in range(101, 151)]
NEVER = [f"u{i}" for i in range(151, 201)]
MINUTES = StepUnit.MINUTES
# The plan's clock, in minutes after opening (fault_obligation below says the same in plan terms).
# The reminder is far behind the on-time window (5–35 s) so that the faults inside that window and a
# loaded machine cannot push an on-time report past it (at 60 s, 89 of 100 once were).
REMIND_AT, DUE_AT, LEADER_AT, BULLETIN_AT = 3, 4, 4, 5
ON_TIME_FROM, ON_TIME_SPREAD = 5, 30  # seconds after opening

# Kinds of fault and how many of each the suite must inject; `Run.faults` is the schedule.
KILL_IN_BATCH = "kill -9 worker inside a mail batch"
KILL_BETWEEN = "kill -9 worker between ladder steps"
BLOBS_AWAY = "blob store unwritable"
TEMPORAL_RESTART = "kill -9 Temporal dev server and restart on the same file"
SINK_AWAY = "SMTP sink stopped"
FAULT_PLAN = Counter({KILL_IN_BATCH: 3, KILL_BETWEEN: 1, BLOBS_AWAY: 2, TEMPORAL_RESTART: 1, SINK_AWAY: 1})
# Faults after which a message may have been accepted by the server but not recorded in the ledger.
WINDOW_KINDS = {KILL_IN_BATCH, KILL_BETWEEN, SINK_AWAY}
# How long a fault may wait for the batch it must land in: a batch behind a killed one waits for
# the 40 s heartbeat timeout and the retry's backoff, on a loaded 2-core machine.
BATCH_WAIT = 180.0


def fault_obligation() -> object:
    return ladder_obligation(
        unit_due=DueSpec(after=DueRule(kind=RuleKind.MINUTES, n=DUE_AT)),
        upward_due=None,
        reminders=[LadderStep(key="1min", offset=DUE_AT - REMIND_AT, unit=MINUTES, urgent=True)],
        escalations=[
            EscalationStep(
                step=LadderStep(key="leader", offset=LEADER_AT - DUE_AT, unit=MINUTES, urgent=True),
                recipients=[Recipient.UNIT_LEADER, Recipient.OFFICE],
            ),
            EscalationStep(
                step=LadderStep(key="bulletin", offset=BULLETIN_AT - DUE_AT, unit=MINUTES, urgent=True),
                recipients=[Recipient.ALL_UNITS, Recipient.LEADERSHIP],
                bulletin=True,
            ),
        ],
        office_reminders=[],
    )


@dataclass(frozen=True)
class Delivered:
    message_id: str
    to: str
    template: str


class Maildir:
    """The sink's Maildir, read incrementally (each file parsed once)."""

    def __init__(self, path: Path) -> None:
        self.new = path / "new"
        self.seen: dict[str, Delivered] = {}

    def messages(self) -> list[Delivered]:
        if self.new.exists():
            for name in os.listdir(self.new):
                if name not in self.seen:
                    with (self.new / name).open("rb") as f:
                        msg = message_from_binary_file(f, policy=policy.default)
                    self.seen[name] = Delivered(
                        str(msg["Message-ID"]), str(msg["To"].addresses[0].addr_spec), str(msg["X-Duban-Template"])
                    )
        return list(self.seen.values())

    def count(self, template: str | None = None) -> int:
        return sum(1 for m in self.messages() if template is None or m.template == template)


async def retrying(what: Callable[[], Awaitable[object]], give_up_after: float = 150.0) -> object:
    """A caller that does not give up while the stack recovers (server restart, blob store away)."""
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            return await what()
        except (OSError, RPCError, client_calls.Busy, RuntimeError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


class Run:
    """One run of the suite: the stack, the client, the cycle and what happened."""

    def __init__(self, stack: FaultStack, client: Client, spec: CycleSpec, seed: int) -> None:
        self.stack = stack
        self.client = client
        self.spec = spec
        self.rng = random.Random(seed)  # noqa: S311 -- fault timing, not security
        self.t0 = time.monotonic()
        self.receipts: dict[str, Receipt] = {}
        self.submit_attempts = 0
        self.hold_worker = False
        self.maildir = Maildir(stack.data_dir / "mail")
        self.injected: list[tuple[str, str]] = []  # (kind, what exactly)

    async def at(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + seconds - time.monotonic()))

    def fault(self, kind: str, detail: str) -> None:
        self.injected.append((kind, detail))
        line = f"+{time.monotonic() - self.t0:5.1f}s {kind} ({detail})"
        self.stack.faults.append(line)
        print(line, f"[Maildir: {self.maildir.count()}]", flush=True)

    # ---- what the units do -----------------------------------------------------------------

    async def submit(self, uid: str) -> None:
        settings = self.stack.settings()
        data = f"{uid} 专项行动工作总结".encode()

        async def store() -> object:
            self.submit_attempts += 1
            return await client_calls.store_uploads(settings, [("总结.txt", data)])

        async def call() -> Receipt:
            refs = await store()
            return await client_calls.update(
                self.client,
                self.spec.cycle_id,
                ReportingCycle.submit_report,
                SubmitReport(unit_id=uid, title="年度总结", attachments=refs),  # type: ignore[arg-type]
            )

        self.receipts[uid] = await retrying(call)  # type: ignore[assignment]

    async def submit_all(self, units: list[str], start: float, spread: float) -> None:
        async def one(uid: str, when: float) -> None:
            await self.at(when)
            await self.submit(uid)

        await asyncio.gather(*(one(uid, start + spread * i / len(units)) for i, uid in enumerate(units)))

    # ---- what breaks -----------------------------------------------------------------------

    async def _kill_worker(self, down_for: float) -> None:
        self.hold_worker = True
        self.stack.kill_worker()
        await asyncio.sleep(down_for)
        self.stack.start_worker()
        self.hold_worker = False

    async def kill_between_steps(self, start: float) -> None:
        await self.at(start)
        await self._kill_worker(5.0)
        self.fault(KILL_BETWEEN, "down 5 s")

    async def kill_inside_batch(self, start: float, template: str, batch_size: int) -> None:
        """Wait for the batch of `template` messages to be partly delivered, kill the worker mid-batch.

        No batch within BATCH_WAIT fails the suite: a fault that did not happen is not a pass.
        """
        await self.at(start)
        wanted = self.rng.randint(10, 40)
        give_up = time.monotonic() + BATCH_WAIT
        while (seen := self.maildir.count(template)) < wanted:
            assert time.monotonic() < give_up, f"no {template} batch within {BATCH_WAIT:.0f} s ({seen} messages)"
            await asyncio.sleep(0.02)
        await self._kill_worker(1.0)
        # Only a kill before the batch's last message is a kill inside it.
        assert seen < batch_size, f"the {template} batch had finished ({seen} of {batch_size}) before the kill"
        self.fault(KILL_IN_BATCH, f"{template} batch, after {seen} of its {batch_size} messages")

    async def blobs_away(self, start: float, seconds: float, why: str) -> None:
        await self.at(start)
        self.stack.blobs_unwritable()
        await asyncio.sleep(seconds)
        self.stack.blobs_writable()
        self.fault(BLOBS_AWAY, f"{seconds:.0f} s, {why}")

    async def restart_temporal(self, start: float) -> None:
        await self.at(start)
        self.stack.kill_temporal()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(self.stack.start_temporal)
        self.fault(TEMPORAL_RESTART, "down about 1 s")

    async def sink_away(self, start: float, seconds: float) -> None:
        await self.at(start)
        self.stack.stop_sink()
        await asyncio.sleep(seconds)
        self.stack.start_sink()
        self.fault(SINK_AWAY, f"{seconds:.0f} s across the reminder")

    async def faults(self) -> None:
        r = self.rng
        every_unit = N_UNITS + len(self.spec.leadership)
        remind, due, bulletin = REMIND_AT * 60, DUE_AT * 60, BULLETIN_AT * 60
        await self.kill_inside_batch(0, "notice", N_UNITS)
        await self.blobs_away(10 + r.uniform(0, 4), 8, "during submissions")
        await self.restart_temporal(26 + r.uniform(0, 4))
        await self.sink_away(remind - 10 + r.uniform(0, 4), 20)
        await self.kill_between_steps((remind + due) / 2 + 2 + r.uniform(0, 6))
        roll_up = asyncio.ensure_future(self.blobs_away(due - 2, 12, "during the roll-up"))
        await self.kill_inside_batch(due, "overdue", len(LATE) + len(NEVER))
        await roll_up
        await self.kill_inside_batch(bulletin, "bulletin", every_unit)

    async def watchdog(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.hold_worker:
                self.stack.keep_worker_alive()
            await asyncio.sleep(0.5)


# ---- what was owed, from the plan and the clock --------------------------------------------------


def owed_cycle_keys(spec: CycleSpec, receipts: dict[str, Receipt], tags: dict[str, str]) -> set[str]:
    """Every notification key the cycle owed (cycle_notices' key format), from the plan and our receipts.

    `tags` holds the minute in which each list-type rung (office escalation, bulletin) went out: it
    is part of those keys; which minute is the one thing taken from what happened.
    """
    cid = spec.cycle_id
    opened = spec.opened_at
    reminder_at = opened + dt.timedelta(minutes=REMIND_AT)
    contact = {u.id: u.contacts[0].email for u in spec.units}
    leader = {u.id: u.leader.email for u in spec.units if u.leader}
    office = spec.office.staff[0].email
    keys = {f"{cid}/notice@0/{uid}/unit_contact/{contact[uid]}" for uid in contact}
    for uid, receipt in receipts.items():
        keys.add(f"{cid}/receipt-{receipt.receipt_no}@0/{uid}/unit_contact/{contact[uid]}")
    chased = [uid for uid in contact if uid not in receipts or receipts[uid].accepted_at >= reminder_at]
    for uid in chased:
        keys.add(f"{cid}/remind:1min@0/{uid}/unit_contact/{contact[uid]}")
        keys.add(f"{cid}/overdue@0/{uid}/unit_contact/{contact[uid]}")
        keys.add(f"{cid}/escalate:leader@0/{uid}/unit_leader/{leader[uid]}")
    keys.add(f"{cid}/escalate:leader/{tags['leader']}/office/{office}")
    keys.update(f"{cid}/escalate:bulletin/{tags['bulletin']}/all_units/{e}" for e in contact.values())
    keys.update(f"{cid}/escalate:bulletin/{tags['bulletin']}/leadership/{p.email}" for p in spec.leadership)
    return keys


def rung_tags(spec: CycleSpec, entries: list[SentEntry]) -> dict[str, str]:
    """The minute tag of the office escalation and of the bulletin, as recorded (each must be one)."""
    tags: dict[str, set[str]] = {"leader": set(), "bulletin": set()}
    for e in entries:
        if m := re.fullmatch(rf"{re.escape(spec.cycle_id)}/escalate:(leader|bulletin)/(\d{{8}}T\d{{4}})/.*", e.key):
            tags[m[1]].add(m[2])
    for step, found in tags.items():
        assert len(found) == 1, f"escalate:{step}: {len(found)} rungs went out ({sorted(found)}), not one"
    return {step: found.pop() for step, found in tags.items()}


def owed_lead_keys(lead: LeadInput, signed: LeadReceipt | None, now: dt.datetime) -> set[str]:
    """A lead's keys from its policy: the referral, the sign-for if we were given its receipt, what fell due."""
    book = LeadBook(lead)
    book.start()
    if signed is not None:
        book.fire_due(signed.accepted_at)
        book.apply_sign_for(SignFor(unit_id=MARKET.id, by="联系人"), signed.accepted_at)
    book.fire_due(now)
    return {n.key for n in book.take_outbox()}


async def _views(client: Client, cycle_id: str, units: list[str]) -> dict[str, UnitView]:
    async def one(uid: str) -> UnitView:
        return await client_calls.unit_view(client, cycle_id, uid)

    return dict(zip(units, await asyncio.gather(*(one(u) for u in units)), strict=True))


def fault_seed() -> int:
    """FAULT_SEED when given, else the clock; printed first so a failing run can be repeated."""
    seed = int(os.environ.get("FAULT_SEED") or time.time())
    print(f"\nfault suite seed {seed} (repeat with FAULT_SEED={seed})", flush=True)
    return seed


async def test_every_notification_once_every_step_no_submission_lost(tmp_path: Path) -> None:
    """Kill, restart and starve the stack while a 200-unit cycle runs its ladder; then audit it."""
    seed = fault_seed()
    stack = FaultStack(tmp_path)
    try:
        stack.start_temporal()
        stack.start_sink()
        settings = stack.settings()
        codec_from_settings(settings)  # the development payload key, written once before any process reads it
        stack.start_worker()
        client = await retrying(lambda: connect(settings), 30)
        assert isinstance(client, Client)

        p = plan(N_UNITS, obligation=fault_obligation(), campaign_id="faults")  # type: ignore[arg-type]
        inp = cycle_input(p, dt.datetime.now(dt.UTC))
        assert inp.spec is not None
        spec = inp.spec
        # The plan says what fault_obligation's clock says (REMIND_AT … BULLETIN_AT minutes).
        agenda = {
            i.step: i.at - spec.opened_at
            for i in timeline.deadline_ladder(spec, timeline.unit_due(spec), spec.opened_at)
        }
        assert agenda == {
            "remind:1min": dt.timedelta(minutes=REMIND_AT),
            "due": dt.timedelta(minutes=DUE_AT),
            "escalate:leader": dt.timedelta(minutes=LEADER_AT),
            "escalate:bulletin": dt.timedelta(minutes=BULLETIN_AT),
        }
        run = Run(stack, client, spec, seed)
        await client.start_workflow(
            "ReportingCycle", inp, id=spec.cycle_id, task_queue=settings.temporal.task_queue, result_type=CycleStatus
        )
        leads = [lead_input(spec.opened_at, lead_id=f"lead:faults:{i}") for i in range(3)]
        for lead in leads:
            await client.start_workflow("LeadReferral", lead, id=lead.lead_id, task_queue=settings.temporal.task_queue)

        stop = asyncio.Event()
        dog = asyncio.ensure_future(run.watchdog(stop))
        signed: list[LeadReceipt] = []

        async def sign_lead() -> None:
            await run.at(28)  # right into the server restart
            receipt = await retrying(
                lambda: client_calls.update(
                    client, leads[0].lead_id, LeadReferral.sign_for, SignFor(unit_id=MARKET.id, by="联系人")
                )
            )
            signed.append(receipt)  # type: ignore[arg-type]

        async def faults_then_late_reports() -> None:
            await run.faults()
            # The bulletin is going out: from here the late units report, all of them after every rung.
            await run.submit_all(LATE, time.monotonic() - run.t0, 30)

        await asyncio.gather(
            faults_then_late_reports(), run.submit_all(ON_TIME, ON_TIME_FROM, ON_TIME_SPREAD), sign_lead()
        )
        reminder_at = spec.opened_at + dt.timedelta(minutes=REMIND_AT)
        slow = [u for u in ON_TIME if run.receipts[u].accepted_at >= reminder_at]
        assert not slow, f"set-up: {len(slow)} on-time report(s) were accepted after the reminder moment: {slow[:5]}"
        last_on_time = max(run.receipts[u].accepted_at for u in ON_TIME) - spec.opened_at

        # Recovery: wait until everything owed is in the ledger and the Maildir has stopped growing.
        ledger = SentLedger(stack.data_dir / "sent-ledger.sqlite")
        deadline = time.monotonic() + 240
        while True:
            cycle_entries = ledger.entries(spec.cycle_id)
            lead_entries = [e for lead in leads for e in ledger.entries(lead.lead_id)]
            recorded = {e.key for e in cycle_entries + lead_entries}
            now = dt.datetime.now(dt.UTC)
            owed_leads = {
                lead.lead_id: owed_lead_keys(lead, signed[0] if i == 0 else None, now) for i, lead in enumerate(leads)
            }
            try:
                owed = owed_cycle_keys(spec, run.receipts, rung_tags(spec, cycle_entries))
            except AssertionError:
                owed = set()  # a rung not yet recorded: keep waiting
            owed_all = owed | set().union(*owed_leads.values())
            if owed and owed_all <= recorded:
                count = run.maildir.count()
                await asyncio.sleep(3)
                if run.maildir.count() == count:
                    break
            missing = sorted(owed_all - recorded)
            assert time.monotonic() < deadline, f"no recovery: {len(missing)} owed notifications unsent: {missing[:5]}"
            await asyncio.sleep(2)
        stop.set()
        await dog

        # ---- every planned fault happened ----------------------------------------------------
        assert Counter(kind for kind, _ in run.injected) == FAULT_PLAN, run.injected

        # ---- the ledger holds what was owed, nothing more ------------------------------------
        tags = rung_tags(spec, cycle_entries)
        owed = owed_cycle_keys(spec, run.receipts, tags)
        for step, minutes in (("leader", LEADER_AT), ("bulletin", BULLETIN_AT)):
            planned = (spec.opened_at + dt.timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M")
            assert tags[step] >= planned, f"escalate:{step} went out in minute {tags[step]}, before {planned}"
        assert {e.key for e in cycle_entries} == owed, (
            f"cycle: missing {sorted(owed - {e.key for e in cycle_entries})[:5]}, "
            f"not owed {sorted({e.key for e in cycle_entries} - owed)[:5]}"
        )
        for lead in leads:
            got = {e.key for e in ledger.entries(lead.lead_id)}
            assert got == owed_leads[lead.lead_id], (
                f"{lead.lead_id}: ledger {sorted(got)} owed {sorted(owed_leads[lead.lead_id])}"
            )

        # ---- message by message: each owed notification reached its recipient, once -----------
        delivered = run.maildir.messages()
        by_id = Counter(m.message_id for m in delivered)
        to_of = {m.message_id: m.to for m in delivered}
        entries = cycle_entries + lead_entries
        undelivered = [e.key for e in entries if by_id[e.message_id] == 0]
        assert not undelivered, (
            f"{len(undelivered)} recorded notification(s) never reached the Maildir: {undelivered[:5]}"
        )
        wrong = [e.key for e in entries if to_of[e.message_id] != e.recipient]
        assert not wrong, f"delivered to someone else: {wrong[:5]}"
        single = [e for e in entries if e.message_id == message_id(e.key)]
        digests = {e.message_id for e in entries} - {e.message_id for e in single}
        # A notification's Message-ID is its key's, or its digest's (several to one person at one instant).
        assert all(any(e.message_id == d for e in entries) for d in digests)
        owed_ids = {e.message_id for e in entries}
        duplicated = sum(n - 1 for m, n in by_id.items() if m in owed_ids and n > 1)
        # A message no ledger row names: a digest rebuilt with fewer members after the window (its
        # members were all delivered in the first one) — a duplicate too. Never a single notification.
        stray = {m: n for m, n in by_id.items() if m not in owed_ids}
        assert not any(m == message_id(e.key) for e in entries for m in stray)
        duplicated += sum(stray.values())
        window_faults = sum(kind in WINDOW_KINDS for kind, _ in run.injected)

        # ---- no submission lost, none applied twice; every late unit chased to the top ---------
        views = await retrying(lambda: _views(client, spec.cycle_id, [u.id for u in spec.units]))
        assert isinstance(views, dict)
        kept = 0
        for uid, receipt in run.receipts.items():
            subs = views[uid].state.submissions
            assert [s.receipt_no for s in subs] == [receipt.receipt_no], f"{uid}: {[s.receipt_no for s in subs]}"
            assert subs[0].attachments and (settings.blob_dir / subs[0].attachments[0].sha256[:2]).is_dir()
            assert receipt.late is (uid in LATE), f"{uid}: late={receipt.late}"
            kept += 1
        assert kept == len(ON_TIME) + len(LATE) == len(run.receipts)
        for uid in LATE + NEVER:
            assert views[uid].row.escalation_level == 2, f"{uid}: level {views[uid].row.escalation_level}"
        for uid in ON_TIME:
            assert views[uid].row.escalation_level == 0 and views[uid].row.reminders_sent == 0, uid

        # ---- leads in flight survived ---------------------------------------------------------
        status = await client_calls.query(client, leads[0].lead_id, LeadReferral.get_status, LeadStatusQuery())
        assert status.stage == "decide", status.stage
        for lead in leads[1:]:
            status = await client_calls.query(client, lead.lead_id, LeadReferral.get_status, LeadStatusQuery())
            assert status.stage == "sign" and not status.closed

        # ---- the server's raw SQLite file holds none of it in clear text -------------------------
        stack.kill_temporal()  # a kill, not a checkpoint: whatever sits in the WAL is read too
        raw = b"".join(f.read_bytes() for f in stack.data_dir.glob("temporal.db*"))
        secrets = {u.name for u in spec.units} | {u.contacts[0].email or "" for u in spec.units}
        secrets |= {p.email or "" for p in spec.leadership} | {spec.office.name, "专项行动工作总结", "联系人"}
        secrets |= {leads[0].title, MARKET.name}
        in_clear = sorted(s for s in secrets if s and s.encode() in raw)
        assert not in_clear, f"in clear text in temporal.db: {in_clear[:5]}"

        print(f"fault suite (seed {seed}): {len(run.injected)} faults injected, as planned")
        for line in stack.faults:
            print("  " + line)
        print(f"  worker exits not caused by us (restarted): {stack.worker_deaths}")
        print(
            f"  notifications owed {len(owed) + sum(len(k) for k in owed_leads.values())} "
            f"(cycle {len(owed)}, leads {sum(len(k) for k in owed_leads.values())}), all recorded and delivered; "
            f"messages {len(owed_ids)} ({len(digests)} digests), Maildir files {len(delivered)}, "
            f"duplicated {duplicated} (known window; {window_faults} faults could open it)"
        )
        print(f"  submissions: made {len(run.receipts)}, kept {kept} (attempts incl. retries {run.submit_attempts})")
        print(
            f"  on-time reports: the last accepted at +{last_on_time.total_seconds():.0f} s "
            f"(planned by +{ON_TIME_FROM + ON_TIME_SPREAD} s; the reminder at +{REMIND_AT * 60} s)"
        )
        assert duplicated <= window_faults, "more duplicates than faults that can open the documented window"
    finally:
        stack.stop_all()
