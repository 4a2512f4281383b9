"""The records database's first schema: sent-ledger, sign-in failures, link revocations, campaigns, archive.

Revision ID: r0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("message_id", sa.String(512), nullable=False),
        sa.Column("recipient", sa.String(512), nullable=False),
        sa.Column("scope", sa.String(256), nullable=False, server_default=""),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sent_scope", "sent", ["scope"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("sign_in_failures_key", "sign_in_failures", ["key", "at"])
    op.create_index("sign_in_failures_at", "sign_in_failures", ["at"])
    op.create_table(
        "link_revocations",
        sa.Column("office", sa.String(128), primary_key=True),
        sa.Column("unit", sa.String(128), primary_key=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "archive",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("campaign", sa.String(128), nullable=False),
        sa.Column("office", sa.String(128), nullable=False, server_default=""),
        sa.Column("period", sa.String(64), nullable=False, server_default=""),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
    )
    op.create_index("archive_campaign", "archive", ["kind", "campaign", "period"])


def downgrade() -> None:
    for table in ("archive", "campaigns", "link_revocations", "sign_in_failures", "sent"):
        op.drop_table(table)
