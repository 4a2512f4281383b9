"""The mail a workflow owes and has not delivered yet, for its `get_mail_backlog` query.

Kept on the workflow object, not in its carried state: it is rebuilt by replay and
is empty at every continue-as-new (the outbox is sent first), so it changes no
command and no input of a running history.
"""

import datetime as dt

from schemas.notify import MailBacklog


class UnsentMail:
    def __init__(self) -> None:
        self.in_flight = 0
        self.since: dt.datetime | None = None

    def owed(self, now: dt.datetime) -> None:
        """Messages were queued at `now`; the oldest unsent one keeps its time."""
        if self.since is None:
            self.since = now

    def settled(self) -> None:
        """The outbox is empty and no mail activity is running."""
        self.in_flight = 0
        self.since = None

    def backlog(self, queued: int) -> MailBacklog:
        unsent = queued + self.in_flight
        return MailBacklog(unsent=unsent, oldest_since=self.since if unsent else None)
