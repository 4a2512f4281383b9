"""The records database's tables: what every worker and console share, and what outlives Temporal.

Changing a table means a new Alembic revision under `activities/migrations/versions/`; these
definitions are what the code reads and writes, the revisions are what builds them.
Timestamps are stored in UTC (SQLite keeps no zone): write them through `utc()`, read them through `aware()`.
"""

import datetime as dt

from sqlalchemy import Column, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

# The sent-ledger: a (channel, key) recorded here is never sent again (activities/sent_ledger.py).
sent = Table(
    "sent",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("message_id", String(512), nullable=False),
    Column("recipient", String(512), nullable=False),
    Column("scope", String(256), nullable=False, server_default=""),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("sent_scope", "scope"),
)

# Failed sign-ins, shared by every console replica (console/access_store.py).
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(512), nullable=False),
    Column("at", Float, nullable=False),
    Index("sign_in_failures_key", "key", "at"),
    Index("sign_in_failures_at", "at"),
)

# From which moment a unit's links count, per office and unit; it only moves forward.
link_revocations = Table(
    "link_revocations",
    metadata,
    Column("office", String(128), primary_key=True),
    Column("unit", String(128), primary_key=True),
    Column("valid_from", DateTime(timezone=True), nullable=False),
)

# Started campaign plans (console/campaign_store.py), one row per campaign, replaced on a restart.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("plan", Text, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

# Every closed cycle and lead (activities/archive.py). Ids, stage and dates in clear (what search
# attributes show too); everything else — units, contacts, submissions, timeline, audit, lead
# content — in `document`, a Temporal payload sealed with the payload keys.
archive = Table(
    "archive",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("id", String(256), primary_key=True),
    Column("campaign", String(128), nullable=False),
    Column("office", String(128), nullable=False, server_default=""),
    Column("period", String(64), nullable=False, server_default=""),
    Column("stage", String(64), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Index("archive_campaign", "kind", "campaign", "period"),
)


def utc(at: dt.datetime) -> dt.datetime:
    """The moment in UTC: SQLite keeps the wall time and drops the zone, so it must be UTC's."""
    return at.astimezone(dt.UTC)


def aware(at: dt.datetime) -> dt.datetime:
    """A stored moment back as an aware UTC datetime (PostgreSQL returns one already)."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
