"""The baseline's mail activity: one notification per activity, one SMTP session per message.

It delegates to duban's own `send_batch` with a batch of one, so rendering,
the sent-ledger and SMTP handling are identical; only the batching differs.
"""

import datetime as dt

from temporalio import activity

from activities.mail import MailActivities
from bench.naive import NAIVE_ACTIVITY, NaiveMail
from schemas.notify import BatchResult, MailBatch


class NaiveMailActivities:
    def __init__(self, mail: MailActivities) -> None:
        self.mail = mail

    @activity.defn(name=NAIVE_ACTIVITY)
    async def send_mail(self, mail: NaiveMail) -> BatchResult:
        now = dt.datetime.now(dt.UTC)
        batch = MailBatch(scope=mail.scope, instant=now, notifications=[mail.notification])
        return await self.mail.send_batch(batch)
