#!/bin/sh
# Creates (if missing) and migrates Temporal's two PostgreSQL databases: the main store
# and the SQL visibility store. Runs in the temporalio/admin-tools image before the
# server starts; safe to run on every `docker compose up` and after a server upgrade
# (setup-schema -v 0.0 only initialises an empty database, update-schema only applies
# versions newer than the recorded one).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set (the PostgreSQL password)}"
PORT="${DB_PORT:-5432}"
SCHEMA_ROOT="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$PORT"
tries=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$PORT did not answer" >&2
    exit 1
  fi
  sleep 2
done

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"
  schema="${pair##*:}"
  echo "database $db (schema $schema)"
  # create-database fails only because the database exists on a re-run; the schema
  # steps below then tell a real connection problem from that.
  sql_tool --db "$db" create-database || echo "database $db already exists"
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
done

echo "Temporal schema is up to date"
