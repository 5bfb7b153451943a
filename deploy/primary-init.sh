#!/bin/bash
# Runs once, when the primary's data directory is first created: the postgres image runs
# every file of /docker-entrypoint-initdb.d/ then (compose.yaml mounts this one there).
# An existing data volume never sees it: run the two steps below by hand, or start from an
# empty volume (`docker compose down -v`; that deletes the data).
#
# 1. A login role for streaming replication, wolo_replicator, used by the standby
#    (deploy/standby-entrypoint.sh). Its password is WOLO_REPLICATION_PASSWORD; it is stored
#    as a SCRAM secret (password_encryption is scram-sha-256 on PostgreSQL 15).
# 2. A pg_hba.conf line letting that role open replication connections from any address, by
#    password. The image's own line `host all all all scram-sha-256` does not cover them:
#    `all` does not match replication connections.
#
# The image may source this file rather than run it, so it does not use `set -u` or `exit`.
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v repl_password="${WOLO_REPLICATION_PASSWORD:-dev-only-replication}" <<'SQL'
create role wolo_replicator with login replication password :'repl_password';
comment on role wolo_replicator is
    'Streaming replication only (the standby of compose.yaml); owns nothing, reads no table.';
SQL

cat >>"$PGDATA/pg_hba.conf" <<'HBA'

# Streaming replication for the standby (deploy/primary-init.sh).
host    replication     wolo_replicator all                     scram-sha-256
HBA
