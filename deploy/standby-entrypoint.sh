#!/bin/bash
# Entrypoint of the `standby` service (compose.yaml): a PostgreSQL 15 streaming replica of
# `postgres`.
#
# On first start (no PG_VERSION in the data directory) it waits for the primary, then clones
# it with pg_basebackup:
#   -R          writes standby.signal and primary_conninfo (postgresql.auto.conf), so the
#               server starts as a standby and streams from the primary;
#   -X stream   streams the WAL written during the copy alongside it;
#   -S / -C     uses (and creates, unless it exists) the physical slot wolo_standby, so the
#               primary keeps the WAL this standby has not received yet (bounded by
#               max_slot_wal_keep_size on the primary);
#   application_name=wolo_standby in the connection string, which -R copies into
#               primary_conninfo: the name synchronous_standby_names refers to.
# Later starts find the data directory filled and start the server as it is.
# Then it runs the command (`postgres -c ...`, compose.yaml) as the postgres user.
#
# Settings (defaults match compose.yaml and deploy/primary-init.sh):
#   WOLO_PRIMARY_HOST (postgres), WOLO_PRIMARY_PORT (5432),
#   WOLO_REPLICATION_USER (wolo_replicator), WOLO_REPLICATION_PASSWORD (dev-only-replication),
#   WOLO_STANDBY_NAME (wolo_standby: the slot and the application_name), PGDATA.
set -euo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
primary_host="${WOLO_PRIMARY_HOST:-postgres}"
primary_port="${WOLO_PRIMARY_PORT:-5432}"
repl_user="${WOLO_REPLICATION_USER:-wolo_replicator}"
name="${WOLO_STANDBY_NAME:-wolo_standby}"

log() { echo "standby: $*" >&2; }

# Started as root (the image's default): make the data directory the postgres user's, then
# run this script again as that user (gosu ships with the postgres image).
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  exec gosu postgres bash "$0" "$@"
fi
# PostgreSQL refuses a data directory others can read.
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD="${WOLO_REPLICATION_PASSWORD:-dev-only-replication}"
  conninfo="host=$primary_host port=$primary_port user=$repl_user application_name=$name"

  # pg_isready over TCP: the primary's first-start server (the one running the init scripts,
  # which create the replication role) listens on its socket only, so this waits for the
  # real one.
  log "waiting for the primary at $primary_host:$primary_port"
  until pg_isready -q -h "$primary_host" -p "$primary_port"; do sleep 1; done

  for attempt in $(seq 1 30); do
    # A slot left by an earlier standby (its volume deleted since) is reused, not created:
    # pg_basebackup -C fails on an existing slot.
    if [ "$(psql -X -A -t -d "$conninfo dbname=postgres" \
      -c "select count(*) from pg_replication_slots where slot_name = '$name'")" = 1 ]; then
      create=()
    else
      create=(-C)
    fi
    find "$PGDATA" -mindepth 1 -delete
    log "cloning the primary (attempt $attempt)"
    if pg_basebackup -d "$conninfo" -D "$PGDATA" -R -X stream -S "$name" "${create[@]}" -c fast; then
      break
    fi
    if [ "$attempt" = 30 ]; then
      log "pg_basebackup failed 30 times; giving up"
      exit 1
    fi
    sleep 2
  done

  # The name synchronous_standby_names uses must reach the primary: refuse to start without it.
  if ! grep -q "application_name=$name" "$PGDATA/postgresql.auto.conf"; then
    log "primary_conninfo lacks application_name=$name; see $PGDATA/postgresql.auto.conf"
    exit 1
  fi
  log "cloned; starting as a standby of $primary_host:$primary_port (slot $name)"
fi

exec "$@"
