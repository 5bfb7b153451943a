#!/usr/bin/env bash
# Beyond one machine (issue #19, item 5, and the pooler's cost, item 3): the pot read of
# bench/run.sh through `wolo serve` on the cluster of scripts/cluster-test.sh (a primary, a
# synchronous streaming standby, PgBouncer in transaction mode, all on this machine):
#
#   A  one `wolo serve`, straight to the primary (the baseline)
#   B  one `wolo serve` through PgBouncer (WOLO_DB_POOLER=transaction)
#   C  two `wolo serve` on the primary, the load split between them
#   D  two `wolo serve` reading on the standby (WOLO_DATABASE_READ_URL), the same load
#
# Correctness, checked (exit 1, never on a time): every answer 2xx; in D the reads reached the
# standby (the pots service's sessions there) and in A-C none did.
#
# Called by `make bench` with WOLO, TOKEN_BIN, WORK, DURATION, WARMUP and CONNECTIONS in the
# environment (as bench/checkout.sh); it runs itself inside scripts/cluster-test.sh, which
# starts and stops the cluster. One markdown section on stdout; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${WOLO_CLUSTER_PRIMARY_URL:-}" ]; then
  WOLO_CLUSTER_RUN="$0" exec scripts/cluster-test.sh
fi

: "${WOLO:?WOLO (the release wolo binary) is required}"
: "${TOKEN_BIN:?TOKEN_BIN (the release wolo-bench-token binary) is required}"
: "${WORK:?WORK (a temporary directory) is required}"
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-16}
OWNER=00000000-0000-4000-a000-010100000002
POT=00000000-0000-4000-a000-040100000002
PATH_Q="/pots/pots?id=eq.$POT"

log() { echo "bench cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }
. bench/lib.sh

mkdir -p "$WORK"
export WOLO_JWT_SECRET=${WOLO_JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}
export RUST_LOG=${RUST_LOG:-warn,sqlx=warn}
unset RUST_LOG_FORMAT

db=wolo_bench_cluster
primary=${WOLO_CLUSTER_PRIMARY_URL%/*}/$db
standby=${WOLO_CLUSTER_STANDBY_URL%/*}/$db
pooled=${WOLO_CLUSTER_POOLER_URL%/*}/$db
psql "$WOLO_CLUSTER_PRIMARY_URL" -XAtqc "create database $db" >/dev/null
DATABASE_URL=$primary "$WOLO" migrate >&2
DATABASE_URL=$primary "$WOLO" seed >/dev/null
TOKEN=$("$TOKEN_BIN" wolo_user "$OWNER")

pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

# start NAME ENV...: a `wolo serve` with ENV on a free port; its base URL in $base
start() {
  local name=$1 port
  shift
  port=$(free_port)
  env "$@" WOLO_HTTP_ADDR="127.0.0.1:$port" "$WOLO" serve >"$WORK/$name.log" 2>&1 &
  pids+=($!)
  base="http://127.0.0.1:$port"
  wait_ready "$!" "$WORK/$name.log" /pots/ready
}

standby_sessions() {
  psql "$standby" -XAtqc "select count(*) from pg_stat_activity where usename = 'wolo_svc_pots' and datname = '$db'"
}

# measure NAME BASE...: wrk on the pot read, the connections split over the BASEs, one wrk
# each at once; "req/s p50 p99" (p50 and p99 of the first) into $WORK/NAME.fig
measure() {
  local name=$1 n i per
  shift
  n=$#
  per=$((CONNECTIONS / n))
  threads=$((2 / n)) # two wrk threads in all, as bench/run.sh
  for b in "$@"; do
    wrk -t"$threads" -c"$per" -d"${WARMUP}s" -H "Authorization: Bearer $TOKEN" "$b$PATH_Q" >/dev/null
  done
  i=0
  local running=()
  for b in "$@"; do
    wrk -t"$threads" -c"$per" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$b$PATH_Q" >"$WORK/$name.$i.txt" &
    running+=($!)
    i=$((i + 1))
  done
  for j in "${running[@]}"; do wait "$j"; done
  for f in "$WORK/$name".*.txt; do
    if grep -q 'Non-2xx\|Socket errors' "$f"; then cat "$f" >&2; die "$name: errors or non-2xx answers"; fi
  done
  cat "$WORK/$name".*.txt >&2
  awk '/^Requests\/sec:/ { s += $2 } END { printf "%.0f", s }' "$WORK/$name".*.txt >"$WORK/$name.fig"
  for q in 50% 99%; do
    printf ' %s' "$(awk -v q=$q '$1 == q { print $2 }' "$WORK/$name.0.txt")" >>"$WORK/$name.fig"
  done
}

log "A: one wolo serve on the primary"
start a DATABASE_URL="$primary"
measure a "$base"
stop_all
log "B: one wolo serve through PgBouncer"
start b DATABASE_URL="$pooled" WOLO_DB_POOLER=transaction
measure b "$base"
stop_all
log "C: two wolo serve on the primary"
start c1 DATABASE_URL="$primary"; c1=$base
start c2 DATABASE_URL="$primary"; c2=$base
measure c "$c1" "$c2"
stop_all
[ "$(standby_sessions)" = 0 ] || die "reads reached the standby without WOLO_DATABASE_READ_URL"
log "D: two wolo serve reading on the standby"
start d1 DATABASE_URL="$primary" WOLO_DATABASE_READ_URL="$standby"; d1=$base
start d2 DATABASE_URL="$primary" WOLO_DATABASE_READ_URL="$standby"; d2=$base
for _ in $(seq 100); do
  [ "$(curl -fsS "$d1/pots/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("reads"))')" = standby ] && break
  sleep 0.1
done
measure d "$d1" "$d2"
sessions=$(standby_sessions)
stop_all
((sessions > 0)) || die "D: no read reached the standby"

fig() { cut -d' ' -f"$2" "$WORK/$1.fig"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<EOF
## Beyond one machine: PgBouncer, two processes, a standby

The pot read of the first section (\`GET /pots/pots?id=eq.<pot>\`, Moussa's token, ${CONNECTIONS}
connections, ${WARMUP} s of warm-up then ${DURATION} s), on the cluster \`make cluster-test\`
starts on this same machine: a primary, a synchronous streaming standby (\`pg_basebackup\`),
PgBouncer ($(pgbouncer --version 2>/dev/null | head -1)) in transaction pooling mode. Two
processes share the connections (${CONNECTIONS} / 2 each, one wrk of one thread each at
once, throughputs added; p50 and p99 are the first wrk's); one process gets one wrk of two
threads.

| | setup | reads/s | p50 | p99 | against A |
|---|---|---:|---:|---:|---:|
| A | one \`wolo serve\`, primary directly | $(fig a 1) | $(fig a 2) | $(fig a 3) | 1.00 |
| B | one \`wolo serve\` through PgBouncer (\`WOLO_DB_POOLER=transaction\`) | $(fig b 1) | $(fig b 2) | $(fig b 3) | $(ratio "$(fig b 1)" "$(fig a 1)") |
| C | two \`wolo serve\`, primary directly | $(fig c 1) | $(fig c 2) | $(fig c 3) | $(ratio "$(fig c 1)" "$(fig a 1)") |
| D | two \`wolo serve\`, reads on the standby (\`WOLO_DATABASE_READ_URL\`) | $(fig d 1) | $(fig d 2) | $(fig d 3) | $(ratio "$(fig d 1)" "$(fig a 1)") |

- Checked: every answer 2xx; in D the pots service's read pool had ${sessions} sessions on the
  standby, in A to C none.
- **The caveat that decides everything here: two CPUs run it all** — wrk, the suite's
  processes, the primary, the standby (replaying the primary's WAL) and PgBouncer. A second
  process or a standby adds no CPU, it shares the same two; these runs show that the
  topologies work and what each step costs in CPU, not how they scale. On separate machines
  a standby adds its own CPUs to the reads, and B's price is paid on the pooler's host.
- B costs what \`docs/architecture.md\` ("Behind PgBouncer") says: a \`BEGIN\` when a
  connection is lent and a \`COMMIT\` when it comes back (two round trips on top of the four of
  a read), a parse and plan of every statement each time (no statement cache), and PgBouncer's
  own hop and \`DEALLOCATE ALL\`.

\`\`\`sh
bench/cluster.sh   # run by make bench; starts the cluster with scripts/cluster-test.sh
wrk -t1 -c$((CONNECTIONS / 2)) -d${DURATION}s --latency -H "Authorization: Bearer \$TOKEN" "\$BASE$PATH_Q"   # per process
\`\`\`
EOF
