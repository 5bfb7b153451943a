#!/usr/bin/env bash
# `make cluster-test` (issue #19): the suite beyond one machine, on loopback, with the
# engines operators run. It starts, from Debian's packages (installed when missing):
#
#   - a primary PostgreSQL on 127.0.0.1:15432 (wal_level replica, a synchronous standby
#     named wolo_standby, synchronous_commit on);
#   - a streaming standby on 127.0.0.1:15433, made by pg_basebackup -R;
#   - PgBouncer in transaction pooling mode on 127.0.0.1:15434 in front of the primary, with
#     the settings of deploy/pgbouncer.ini (reset DEALLOCATE ALL, always);
#
# then runs suite/tests/cluster (ignored by a plain `cargo test`) against them, and stops
# everything (also on failure). Everything lives under a fresh temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "cluster-test: $*" >&2; }

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ] && { echo "$d"; return 0; }
  done
  return 1
}

sudo=
[ "$(id -u)" = 0 ] || sudo="sudo -n"
install() {
  log "installing $*"
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}
bin=$(pg_bin) || { install postgresql; bin=$(pg_bin); }
command -v pgbouncer >/dev/null 2>&1 || install pgbouncer
command -v psql >/dev/null 2>&1 || install postgresql-client

# PostgreSQL and PgBouncer refuse to run as root.
run_as=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  run_as=(runuser -u postgres --)
  owner=postgres
fi

# Below the ephemeral range (32768-60999), where a client connection may hold any port.
PRIMARY_PORT=${WOLO_CLUSTER_PORT:-15432}
STANDBY_PORT=$((PRIMARY_PORT + 1))
POOLER_PORT=$((PRIMARY_PORT + 2))
dir=$(mktemp -d /tmp/wolo-cluster.XXXXXX)
chown "$owner" "$dir"
primary=$dir/primary
standby=$dir/standby

cleanup() {
  set +e
  [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$standby" -m immediate stop >/dev/null 2>&1
  "${run_as[@]}" "$bin/pg_ctl" -D "$primary" -m immediate stop >/dev/null 2>&1
  if [ "${WOLO_CLUSTER_KEEP:-}" = 1 ]; then log "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

log "primary on $PRIMARY_PORT"
"${run_as[@]}" "$bin/initdb" -D "$primary" -U postgres -A trust --no-sync >/dev/null
cat >>"$primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 5
hot_standby = on
max_connections = 200
# An acknowledged commit is on the standby too (issue #19, item 4): Wave hears 200 only
# once the donation is on both machines.
synchronous_standby_names = 'wolo_standby'
synchronous_commit = on
fsync = off
EOF
echo "host replication all 127.0.0.1/32 trust" >>"$primary/pg_hba.conf"
"${run_as[@]}" "$bin/pg_ctl" -D "$primary" -l "$dir/primary.log" -w start >/dev/null

log "standby on $STANDBY_PORT (pg_basebackup)"
"${run_as[@]}" "$bin/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$standby" \
  -R -X stream -d "application_name=wolo_standby" >/dev/null
cat >>"$standby/postgresql.conf" <<EOF
port = $STANDBY_PORT
EOF
"${run_as[@]}" "$bin/pg_ctl" -D "$standby" -l "$dir/standby.log" -w start >/dev/null
for _ in $(seq 50); do
  state=$(psql "postgres://postgres@127.0.0.1:$PRIMARY_PORT/postgres" -XAtc \
    "select sync_state from pg_stat_replication where application_name = 'wolo_standby'")
  [ "$state" = sync ] && break
  sleep 0.2
done
[ "$state" = sync ] || { log "the standby never became synchronous"; exit 1; }

log "PgBouncer (transaction pooling) on $POOLER_PORT"
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PRIMARY_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits, options
max_client_conn = 1000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
# With trust, PgBouncer still wants each login listed: the superuser and the services' roles.
{
  echo '"postgres" ""'
  for s in identity profiles referral pots donations packs qr notifications analytics admin; do
    echo "\"wolo_svc_$s\" \"\""
  done
} >"$dir/userlist.txt"
chown "$owner" "$dir/pgbouncer.ini" "$dir/userlist.txt"
"${run_as[@]}" pgbouncer -d "$dir/pgbouncer.ini"
for _ in $(seq 50); do
  psql "postgres://postgres@127.0.0.1:$POOLER_PORT/postgres" -XAtc 'select 1' >/dev/null 2>&1 && break
  sleep 0.1
done

export WOLO_CLUSTER_PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/postgres"
# The tests' databases (testkit) are made on the primary; the standby gets them by replication.
export DATABASE_URL=$WOLO_CLUSTER_PRIMARY_URL
export WOLO_CLUSTER_STANDBY_URL="postgres://postgres@127.0.0.1:$STANDBY_PORT/postgres"
export WOLO_CLUSTER_POOLER_URL="postgres://postgres@127.0.0.1:$POOLER_PORT/postgres"
export WOLO_CLUSTER_PG_BIN=$bin
export WOLO_CLUSTER_PRIMARY_PGDATA=$primary
export WOLO_CLUSTER_STANDBY_PGDATA=$standby
export WOLO_CLUSTER_RUN_AS="${run_as[*]}"
if [ -n "${WOLO_CLUSTER_HOLD:-}" ]; then
  # For a look by hand: the cluster stays up until this script is stopped.
  env | grep '^WOLO_CLUSTER_' >&2
  log "holding the cluster (Ctrl-C to stop it)"
  sleep infinity
fi
if [ -n "${WOLO_CLUSTER_RUN:-}" ]; then
  # Something else to run on the cluster instead of the tests (bench/cluster.sh).
  $WOLO_CLUSTER_RUN
  exit
fi
log "running suite/tests/cluster"
# One at a time, in name order: the failover test promotes the standby, so it comes last.
cargo test -p suite --test cluster -- --ignored --test-threads=1 "$@"
