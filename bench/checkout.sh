#!/usr/bin/env bash
# Checkout while Wave is slow (issue #16, item 2): REST reads through `wolo serve` idle, then
# while 100 checkouts are waiting on a fake Wave that answers every call after 5 s.
#
#   idle    wrk --latency -> GET /pots/pots?id=eq.<pot> with a user JWT (as bench/run.sh)
#   during  the same wrk run while 100 clients each POST /donations/checkout in a loop (a new
#           Idempotency-Key each time), so 100 checkouts are waiting on Wave all along; each
#           takes ~10 s (Wave's search, then its create, 5 s each)
#
# Correctness, checked (exit 1 on a failure, never on a time): every read answered 2xx; every
# checkout answered 201 with a payment URL and no checkout answered 5xx; every donation the run
# created has its Wave session in the database and no claim left.
#
# Called by `make bench` with, in the environment: DATABASE_URL (a migrated and seeded
# database), WOLO (the release `wolo`), TOKEN_BIN (the release `wolo-bench-token`), WORK (a
# temporary directory of its own), DURATION and WARMUP (seconds), CONNECTIONS (wrk's). It starts
# its own `wolo serve` (with the fake Wave in process) on a free 127.0.0.1 port, stops it at
# the end whatever happens, and prints one markdown section on stdout; progress goes to stderr.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL (a migrated and seeded database) is required}"
: "${WOLO:?WOLO (the release wolo binary) is required}"
: "${TOKEN_BIN:?TOKEN_BIN (the release wolo-bench-token binary) is required}"
: "${WORK:?WORK (a temporary directory) is required}"
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-16}
CHECKOUTS=100      # checkouts waiting on Wave at any moment of the "during" run
WAVE_DELAY_MS=5000 # the fake Wave's answer time, per call
# Seeds: Moussa owns the open pot (see seeds/README.md).
OWNER=00000000-0000-4000-a000-010100000002
POT=00000000-0000-4000-a000-040100000002
KEY_PREFIX=bench-checkout-$$-

log() { echo "bench checkout: $*" >&2; }
die() { log "error: $*"; exit 1; }
. "$(dirname "$0")/lib.sh"

for v in DURATION WARMUP CONNECTIONS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got ${!v})"
done
((DURATION >= 1)) || die "DURATION must be at least 1 second"
((CONNECTIONS >= 1)) || die "CONNECTIONS must be at least 1"
THREADS=$((CONNECTIONS < 2 ? CONNECTIONS : 2))
LIMIT=$((DURATION + 30)) # hard cap on any one wrk run
[ -x "$WOLO" ] || die "WOLO=$WOLO is not an executable"
[ -x "$TOKEN_BIN" ] || die "TOKEN_BIN=$TOKEN_BIN is not an executable"
mkdir -p "$WORK"
for tool in wrk curl python3 psql; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

export WOLO_JWT_SECRET=${WOLO_JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
unset RUST_LOG_FORMAT

server_pid=
driver_pid=
sampler_pid=
stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  touch "$WORK/stop" 2>/dev/null || true
  stop_pid "$sampler_pid"
  stop_pid "$driver_pid"
  stop_pid "$server_pid"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sql() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# --- server with a slow fake Wave ---------------------------------------------------------
port=$(free_port)
wave_port=$(free_port)
base=http://127.0.0.1:$port
env -u WOLO_WAVE_API_URL -u WOLO_WAVE_API_KEY -u WOLO_WAVE_WEBHOOK_SECRET \
  WOLO_ENV=development WOLO_HTTP_ADDR=127.0.0.1:$port \
  WOLO_FAKE_WAVE_ADDR=127.0.0.1:$wave_port WOLO_FAKE_WAVE_DELAY_MS=$WAVE_DELAY_MS \
  WOLO_WAVE_TIMEOUT_SECS=15 \
  "$WOLO" serve >"$WORK/checkout-serve.log" 2>&1 &
server_pid=$!
log "wolo serve (pid $server_pid) on $base, fake Wave on 127.0.0.1:$wave_port answering after ${WAVE_DELAY_MS} ms"
wait_ready "$server_pid" "$WORK/checkout-serve.log" /pots/ready /donations/ready

token=$("$TOKEN_BIN" wolo_user "$OWNER" 3600)
path="/pots/pots?id=eq.$POT"
url="$base$path"
body=$(curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$url") || die "GET $path failed"
check_one_pot "$body" "$POT" "$path"

# wrk's latency percentile $2 (50%, 99%) in ms, from its --latency output $1.
percentile_ms() {
  awk -v p="$2" '$1 == p {
      v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
      f = (unit == "us") ? 0.001 : (unit == "ms") ? 1 : (unit == "s") ? 1000 : (unit == "m") ? 60000 : -1;
      if (f < 0) exit 1; printf "%.2f", v * f; found = 1 }
    END { if (!found) exit 1 }' "$1"
}
requests_of() { awk '/requests in/ {print $1; exit}' "$1"; }
check_wrk() { # check_wrk FILE WHAT: no errors and no non-2xx answers
  ! grep -q 'Non-2xx\|Socket errors' "$1" || { cat "$1" >&2; die "$2: wrk saw errors or non-2xx answers (see above)"; }
}
run_wrk() { # run_wrk OUT
  timeout "$LIMIT" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -H "Authorization: Bearer $token" "$url" >"$1"
}

# --- idle ---------------------------------------------------------------------------------
log "reads, idle: warm-up ${WARMUP}s, then wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
if ((WARMUP > 0)); then
  timeout "$LIMIT" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "Authorization: Bearer $token" "$url" >/dev/null
fi
run_wrk "$WORK/checkout-idle.txt"
check_wrk "$WORK/checkout-idle.txt" "idle reads"

# --- during: 100 checkouts waiting on Wave --------------------------------------------------
# Each client loops: POST /donations/checkout with a new key, record the answer, until
# $WORK/stop exists (then it finishes the checkout in flight).
rm -f "$WORK/stop" "$WORK/checkouts.jsonl"
python3 - "$base" "$POT" "$CHECKOUTS" "$KEY_PREFIX" "$WORK" <<'PY' &
import json, os, sys, threading, time, urllib.error, urllib.request
base, pot, n, prefix, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lock = threading.Lock()
out = open(os.path.join(work, "checkouts.jsonl"), "w")
def client(i):
    k = 0
    while not os.path.exists(os.path.join(work, "stop")):
        key = f"{prefix}{i}-{k}"
        k += 1
        req = urllib.request.Request(
            f"{base}/donations/checkout", method="POST",
            data=json.dumps({"pot_id": pot, "amount_cfa": 1000 + i}).encode(),
            headers={"content-type": "application/json", "idempotency-key": key})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode()
        except Exception as e:  # no answer at all
            status, body = 0, str(e)
        line = {"key": key, "status": status, "seconds": round(time.monotonic() - started, 3)}
        try:
            line["url"] = json.loads(body).get("wave_payment_url")
        except Exception:
            line["body"] = body[:300]
        with lock:
            out.write(json.dumps(line) + "\n")
            out.flush()
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY
driver_pid=$!

waiting() { sql "select count(*) from donations.donations
                  where idempotency_key like '$KEY_PREFIX%' and wave_claim_id is not null
                    and wave_payment_url is null"; }
log "starting $CHECKOUTS checkout clients; waiting until $CHECKOUTS checkouts wait on Wave"
for i in $(seq 1 300); do
  w=$(waiting)
  ((w >= CHECKOUTS)) && break
  kill -0 "$driver_pid" 2>/dev/null || die "the checkout clients exited early"
  [ "$i" = 300 ] && die "only $w checkouts were waiting on Wave after 30 s"
  sleep 0.1
done

# Repeatedly while wrk runs: checkouts waiting on Wave, and donations connections idle in a
# transaction (a statement of a short transaction in between can show up; a connection held
# across Wave's 5 s would show up in every sample).
sample() {
  while :; do
    sql "select (select count(*) from donations.donations
                  where idempotency_key like '$KEY_PREFIX%' and wave_claim_id is not null
                    and wave_payment_url is null),
                (select count(*) from pg_stat_activity
                  where datname = current_database() and usename = 'wolo_svc_donations'
                    and state like 'idle in transaction%'),
                (select count(*) from pg_stat_activity
                  where datname = current_database() and usename = 'wolo_svc_donations')" \
      | tr '|' ' ' >>"$WORK/checkout-samples.txt" || true
    sleep 0.2
  done
}
rm -f "$WORK/checkout-samples.txt"
sample &
sampler_pid=$!
log "reads while $CHECKOUTS checkouts wait on Wave: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
run_wrk "$WORK/checkout-during.txt"
stop_pid "$sampler_pid"; sampler_pid=
check_wrk "$WORK/checkout-during.txt" "reads during the checkouts"

log "stopping the checkout clients (each finishes the checkout in flight)"
touch "$WORK/stop"
wait "$driver_pid" || die "the checkout clients failed"
driver_pid=

# --- correctness ----------------------------------------------------------------------------
read -r total ok fivexx other median max < <(python3 - "$WORK/checkouts.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in rows if r["status"] == 201 and r.get("url")]
fivexx = [r for r in rows if 500 <= r["status"] < 600]
secs = [r["seconds"] for r in rows] or [0]
print(len(rows), len(ok), len(fivexx), len(rows) - len(ok) - len(fivexx),
      f"{statistics.median(secs):.1f}", f"{max(secs):.1f}")
PY
)
((total > 0)) || die "no checkout completed"
((fivexx == 0)) || { grep -v '"status": 201' "$WORK/checkouts.jsonl" | head -5 >&2; die "$fivexx of $total checkouts answered 5xx"; }
((ok == total)) || { grep -v '"status": 201' "$WORK/checkouts.jsonl" | head -5 >&2; die "$other of $total checkouts did not answer 201 with a payment URL"; }
read -r in_db without_session claims < <(sql "select count(*), count(*) filter (where wave_session_id is null),
    count(wave_claim_id) from donations.donations where idempotency_key like '$KEY_PREFIX%'" | tr '|' ' ')
((in_db == total)) || die "$total checkouts answered but the database holds $in_db of their donations"
((without_session == 0 && claims == 0)) ||
  die "$without_session donations of the run have no Wave session, $claims still hold a claim"
log "checked: $total checkouts, all 201 with a session stored; every read 2xx"

# --- report ---------------------------------------------------------------------------------
idle_p50=$(percentile_ms "$WORK/checkout-idle.txt" 50%) || die "no p50 in wrk's idle output"
idle_p99=$(percentile_ms "$WORK/checkout-idle.txt" 99%) || die "no p99 in wrk's idle output"
during_p50=$(percentile_ms "$WORK/checkout-during.txt" 50%) || die "no p50 in wrk's output"
during_p99=$(percentile_ms "$WORK/checkout-during.txt" 99%) || die "no p99 in wrk's output"
idle_n=$(requests_of "$WORK/checkout-idle.txt")
during_n=$(requests_of "$WORK/checkout-during.txt")
read -r wait_min wait_max iit_max iit_share conns_max samples < <(awk '
  { n++; if (n == 1 || $1 < wmin) wmin = $1; if ($1 > wmax) wmax = $1;
    if ($2 > imax) imax = $2; if ($2 > 0) iany++; if ($3 > cmax) cmax = $3 }
  END { printf "%d %d %d %d %d %d\n", wmin, wmax, imax, n ? 100 * iany / n : 0, cmax, n }' \
  "$WORK/checkout-samples.txt")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

cat <<EOF
## Checkout while Wave is slow

REST reads through \`wolo serve\` idle, then while ${CHECKOUTS} checkouts wait on a fake Wave that answers every call after $((WAVE_DELAY_MS / 1000)) s (issue #16: a checkout holds no database connection and no row lock while it waits on Wave).

| | idle | during ${CHECKOUTS} waiting checkouts | ratio |
|---|---:|---:|---:|
| read p50 | ${idle_p50} ms | ${during_p50} ms | $(ratio "$during_p50" "$idle_p50") |
| read p99 | ${idle_p99} ms | ${during_p99} ms | $(ratio "$during_p99" "$idle_p99") |
| reads (all 2xx) | ${idle_n} | ${during_n} | |

- **Checkouts**: ${total} during the run, every one 201 with its Wave payment URL and its session stored (none 5xx); median ${median} s each, longest ${max} s (Wave's search then create, $((WAVE_DELAY_MS / 1000)) s each). Checkouts waiting on Wave, sampled from \`donations.donations\` during the reads (${samples} samples): ${wait_min} to ${wait_max}.
- **Donations connections** (\`wolo_svc_donations\` in \`pg_stat_activity\`, same samples): at most ${conns_max} open; \`idle in transaction\` in ${iit_share} % of the samples, at most ${iit_max} at once (a short checkout transaction between two statements; a connection held while Wave answers would be in every sample).
- **Measured**: \`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency\` on \`GET /pots/pots?id=eq.<pot>\` with a user JWT (as the read benchmark), after a ${WARMUP} s warm-up, once idle and once while ${CHECKOUTS} clients each POST \`/donations/checkout\` in a loop (a new \`Idempotency-Key\` each time) to the same \`wolo serve\` (release build, default pools), whose donations service calls the fake Wave started in process with \`WOLO_FAKE_WAVE_DELAY_MS=${WAVE_DELAY_MS}\`. \`bench/checkout.sh\`; it fails on a correctness check, never on a time.
EOF
