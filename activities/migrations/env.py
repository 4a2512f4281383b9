"""Alembic's entry: migrations run on the connection `activities.records` hands over (never a URL of their own)."""

from alembic import context

from activities.records_schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `duban db upgrade`, which passes the records database's connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
