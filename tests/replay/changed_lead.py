"""Deliberately changed LeadReferrals, for proving that the replay check bites on leads too.

- `LeadReferralWithExtraStep`: a holiday look-up by activity before the lead's loop starts;
- `LeadReferralWithMailFirst`: the same activity in the middle of a run, before each batch of mail;
- `LeadReferralWithLaterClock`: every stage reminder and escalation an hour later.
"""

import datetime as dt
from dataclasses import replace

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.lead_stages import AgendaItem
    from schemas.lead import LeadInput, LeadStatus
    from tests.replay.changed_cycle import look_up_holidays
    from workflows.lead_referral import LeadReferral

HOUR = dt.timedelta(hours=1)


@workflow.defn(name="LeadReferral")
class LeadReferralWithExtraStep(LeadReferral):
    @workflow.run
    async def run(self, spec: LeadInput) -> LeadStatus:
        await look_up_holidays()
        return await super().run(spec)


@workflow.defn(name="LeadReferral")
class LeadReferralWithMailFirst(LeadReferral):
    @workflow.run
    async def run(self, spec: LeadInput) -> LeadStatus:
        return await super().run(spec)

    async def _send_mail(self) -> None:
        if self.book.outbox:
            await look_up_holidays()
        await super()._send_mail()


@workflow.defn(name="LeadReferral")
class LeadReferralWithLaterClock(LeadReferral):
    @workflow.init
    def __init__(self, spec: LeadInput) -> None:
        super().__init__(spec)
        fire_due, next_moment = self.book.fire_due, self.book.next_moment

        def later() -> AgendaItem | None:
            item = next_moment()
            return None if item is None else replace(item, at=item.at + HOUR)

        # Every moment an hour later: the timers wait an hour longer and fire what is due then.
        self.book.fire_due = lambda now: fire_due(now - HOUR)  # type: ignore[method-assign]
        self.book.next_moment = later  # type: ignore[method-assign]

    @workflow.run
    async def run(self, spec: LeadInput) -> LeadStatus:
        return await super().run(spec)
