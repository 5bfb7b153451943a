#!/usr/bin/env bash
# QR redemption at a constant rate, then QR rendering (issue #16, items 3 and 4); called by
# `make bench`, or by hand. Prints markdown on stdout (one section per workload), logs on
# stderr; exits non-zero only when a correctness check fails, never on a time.
#
#   redemption  wolo-bench-load --rate $QR_RATE (default 200) for DURATION seconds ->
#               POST /qr/redeem with Pape Seck's partner token (staff of CinéTeranga) at
#               CinéTeranga Plateau. Every code is scanned twice: half of them twice in a row
#               (5 ms apart, the two scans in flight together), the others 20 slots later
#               (100 ms, after the first answer: a code shown again at the counter).
#               Checked: per code exactly one 200 and 409 `already_used` for the rest, from
#               the answers; from the database, the code redeemed, exactly one `success` in
#               qr.qr_redemption_logs, one log row per attempt, one `qr.redeemed` event, and
#               nothing in qr.unmatched_scan_logs.
#   rendering   wolo-bench-load --concurrency 4 for DURATION seconds -> GET the PNG, then the
#               SVG, of one code (/qr/codes/{code}.png|.svg) with the same token.
#
# A scan is given 60 s to be answered (--timeout 60): one without an answer counts as a
# failed check (its outcome is unknown), so the timeout is far above any latency worth
# reporting, however loaded the machine.
#
# The codes are real: rows of qr.qr_codes for pots of their own (one code per pot, as the
# service issues them: issuance_key = the pot), pack "Pack Ciné Duo", valid since yesterday,
# whose values are signed with WOLO_QR_SECRET exactly as services/qr/src/code.rs signs them
# (base32(id ‖ HMAC-SHA256(secret, "wolo-qr-v1:" ‖ id)[..16])). A code signed wrongly would
# be answered 400 and fail the checks.
#
# Environment: DATABASE_URL (a migrated and seeded database), WOLO (release `wolo`),
# TOKEN_BIN (release `wolo-bench-token`), LOAD_BIN (release `wolo-bench-load`), WORK (a
# temporary directory), DURATION and WARMUP (seconds); QR_RATE (requests per second,
# default 200), QR_RENDER_CONCURRENCY (default 4).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "bench/qr: $*" >&2; }
die() { log "error: $*"; exit 1; }
. "$(dirname "$0")/lib.sh"

for v in DATABASE_URL WOLO TOKEN_BIN LOAD_BIN WORK DURATION WARMUP; do
  [ -n "${!v:-}" ] || die "$v is not set"
done
for v in WOLO TOKEN_BIN LOAD_BIN; do [ -x "${!v}" ] || die "$v (${!v}) is not executable"; done
RATE=${QR_RATE:-200}
RENDER_C=${QR_RENDER_CONCURRENCY:-4}
for v in DURATION WARMUP RATE RENDER_C; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got ${!v})"
done
((DURATION >= 1 && RATE >= 1 && RENDER_C >= 1)) || die "DURATION, QR_RATE and QR_RENDER_CONCURRENCY must be at least 1"
LIMIT=$((4 * DURATION + 120)) # hard cap on any one load run (a backlog drains after the schedule ends)
mkdir -p "$WORK"
work=$(mktemp -d "$WORK/qr.XXXXXX")

# Seeds: Pape Seck is staff of CinéTeranga, whose pack "Pack Ciné Duo" is redeemable at
# CinéTeranga Plateau; Moussa owns the bench pots (see seeds/README.md).
STAFF=00000000-0000-4000-a000-010100000013
OWNER=00000000-0000-4000-a000-010100000002
PACK=00000000-0000-4000-a000-060200000001
VENUE=cineteranga-plateau
TARGET_REDEEM_P99=10
TARGET_RENDER_P99=5

export WOLO_JWT_SECRET=${WOLO_JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}
export WOLO_QR_SECRET=${WOLO_QR_SECRET:-bench-only-qr-secret-0123456789abcdef0123}
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
unset RUST_LOG_FORMAT

server_pid=
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_q() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }

# --- the codes and the requests ------------------------------------------------------------
warm_slots=$((RATE * WARMUP))
run_slots=$((RATE * DURATION))
log "preparing codes: $warm_slots warm-up scans, $run_slots measured scans, each code scanned twice"
# plan.py writes, for the warm-up and the measured run: the codes (n code), the requests
# (one JSON a line for wolo-bench-load) and which code each request scans.
cat >"$work/plan.py" <<'PY'
import base64, hashlib, hmac, json, os, sys

secret, venue, workdir = os.environ["WOLO_QR_SECRET"].encode(), sys.argv[1], sys.argv[2]

def code():
    """A code as services/qr/src/code.rs generates it: base32(id || tag) without padding."""
    ident = os.urandom(16)
    tag = hmac.new(secret, b"wolo-qr-v1:" + ident, hashlib.sha256).digest()[:16]
    return base64.b32encode(ident + tag).decode().rstrip("=")

def plan(slots, first):
    """Codes numbered from `first`; each scanned twice: even codes in two adjacent slots, odd
    ones 20 slots apart; a slot left without a partner re-scans the code before it."""
    order, codes, n = [None] * slots, [], first
    for p in range(slots):
        if order[p] is not None:
            continue
        gap = 1 if (n - first) % 2 == 0 else 20
        q = next((q for q in range(p + gap, slots) if order[q] is None), None)
        if q is None:
            order[p] = order[p - 1] if p > 0 else None
            continue
        c = code()
        codes.append((n, c))
        order[p] = order[q] = n
        n += 1
    return codes, order

def grouped(c):
    return "-".join(c[i:i + 4] for i in range(0, len(c), 4))

first = 1
for name, slots in (("warmup", int(sys.argv[3])), ("run", int(sys.argv[4]))):
    codes, order = plan(slots, first)
    first += len(codes)
    by_n = dict(codes)
    with open(f"{workdir}/{name}.codes", "w") as f:
        f.writelines(f"{n}\t{c}\n" for n, c in codes)
    with open(f"{workdir}/{name}.jsonl", "w") as f, open(f"{workdir}/{name}.order", "w") as o:
        for n in order:
            if n is None:
                continue
            body = {"code": grouped(by_n[n]), "venue_id": venue,
                    "device": {"name": "bench", "app": "wolo-bench-load"}}
            f.write(json.dumps({"method": "POST", "path": "/qr/redeem", "body": body}) + "\n")
            o.write(f"{n}\n")
PY
python3 "$work/plan.py" "$VENUE" "$work" "$warm_slots" "$run_slots"
cat "$work/warmup.codes" "$work/run.codes" >"$work/all.codes"
n_codes=$(wc -l <"$work/all.codes")
n_run_codes=$(wc -l <"$work/run.codes")
run_requests=$(wc -l <"$work/run.jsonl")

# One pot per code (a code per pot, as the service issues them), funded, birthday yesterday.
psql_q >/dev/null <<SQL
create temporary table bench_codes (n int primary key, code text not null);
\copy bench_codes from '$work/all.codes'
with p as (
  insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at,
                         status, actual_opened_at, preferred_pack_id, raised_amount_cfa)
  select '$OWNER', 'Cagnotte bench QR ' || n, 15000, current_date - 1, now() - interval '31 days',
         'funded', now() - interval '31 days', '$PACK', 15000
  from bench_codes
  returning id, title)
insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at, status, price_cfa,
                         issuance_key)
select p.id, '$PACK', b.code, now() - interval '1 day', now() + interval '89 days', 'issued',
       15000, p.id
from p join bench_codes b on p.title = 'Cagnotte bench QR ' || b.n;
SQL
codes_in_db() {
  psql_q <<SQL
create temporary table bench_codes (n int primary key, code text not null);
\copy bench_codes from '$work/all.codes'
select count(*) from qr.qr_codes c join bench_codes b using (code) where c.status = 'issued';
SQL
}
[ "$(codes_in_db)" = "$n_codes" ] ||
  die "could not prepare the $n_codes codes"
unmatched0=$(psql_q -c "select count(*) from qr.unmatched_scan_logs")

# --- server --------------------------------------------------------------------------------
export WOLO_HTTP_ADDR=127.0.0.1:$(free_port)
base=http://$WOLO_HTTP_ADDR
"$WOLO" serve >"$work/serve.log" 2>&1 &
server_pid=$!
log "wolo serve (pid $server_pid) on $base"
wait_ready "$server_pid" "$work/serve.log" /qr/ready
token=$("$TOKEN_BIN" wolo_partner "$STAFF" 3600)

load() { # load NAME ARGS...: wolo-bench-load's summary in NAME.sum, its outcomes in NAME.out
  local name=$1
  shift
  timeout "$LIMIT" "$LOAD_BIN" --base "$base" -H "Authorization: Bearer $token" \
    --out "$work/$name.out" "$@" >"$work/$name.sum"
  sed "s/^/bench\/qr: $name: /" "$work/$name.sum" >&2
}
sum() { awk -v k="$2" '$1 == k { print $2 }' "$work/$1.sum"; }
status_count() { awk -v s="$2" '$1 == "status" && $2 == s { print $3 }' "$work/$1.sum" | grep . || echo 0; }

# --- redemption --------------------------------------------------------------------------
redeem_cmd="wolo-bench-load --rate $RATE --duration $DURATION --max-in-flight 256 --timeout 60 --requests run.jsonl --base \$BASE -H 'Authorization: Bearer \$PARTNER_TOKEN'"
if ((WARMUP > 0)); then
  log "redemption: warm-up ${WARMUP}s at $RATE req/s"
  load warmup --rate "$RATE" --duration "$WARMUP" --max-in-flight 256 --timeout 60 --requests "$work/warmup.jsonl"
fi
log "redemption: ${DURATION}s at $RATE req/s ($run_requests scans of $n_run_codes codes)"
load run --rate "$RATE" --duration "$DURATION" --max-in-flight 256 --timeout 60 --requests "$work/run.jsonl"

failures=()
# From the answers: per code, exactly one 200, and 409 for every other scan.
check_answers() { # check_answers NAME: prints "codes ok doubles none others" problems
  python3 - "$work/$1.order" "$work/$1.out" <<'PY'
import collections, sys
order = [int(l) for l in open(sys.argv[1])]
ok, other = collections.Counter(), collections.Counter()
for line in open(sys.argv[2]):
    index, row, status, *_ = line.split("\t")
    n = order[int(row)]
    if status == "200":
        ok[n] += 1
    elif status != "409":
        other[status] += 1
codes = set(order)
doubles = sum(1 for n in codes if ok[n] > 1)
none = sum(1 for n in codes if ok[n] == 0)
print(len(codes), sum(1 for n in codes if ok[n] == 1), doubles, none,
      ",".join(f"{s}x{c}" for s, c in sorted(other.items())) or "-")
PY
}
attempts=$( { [ -f "$work/warmup.order" ] && ((WARMUP > 0)) && cat "$work/warmup.order"; cat "$work/run.order"; } | sort -n | uniq -c | awk '{print $2 "\t" $1}')
printf '%s\n' "$attempts" >"$work/attempts.tsv"
for name in $( ((WARMUP > 0)) && echo warmup) run; do
  read -r codes one doubles none others <<<"$(check_answers "$name")"
  log "$name: $codes codes, $one with exactly one success, $doubles with more than one, $none with none; other answers: $others"
  ((doubles == 0)) || failures+=("$name: $doubles codes redeemed more than once (answers)")
  ((none == 0)) || failures+=("$name: $none codes never answered 200")
  [ "$others" = - ] || failures+=("$name: answers other than 200 and 409: $others")
done

# Let the server finish what it was doing (it has answered everything), then the database.
read -r db_codes db_redeemed db_one_success db_multi_success db_logs_match db_events_one unmatched1 <<<"$(psql_q -F' ' <<SQL
create temporary table bench_attempts (n int primary key, attempts int not null);
\copy bench_attempts from '$work/attempts.tsv'
create temporary table bench_codes (n int primary key, code text not null);
\copy bench_codes from '$work/all.codes'
create temporary table bench_ids as
  select b.n, c.id as qr_code_id from bench_codes b join qr.qr_codes c using (code);
with per_code as (
  select a.n, a.attempts, c.status,
         (select count(*) from qr.qr_redemption_logs l where l.qr_code_id = b.qr_code_id) as logs,
         (select count(*) from qr.qr_redemption_logs l where l.qr_code_id = b.qr_code_id
            and l.validation_result = 'success') as successes,
         (select count(*) from wolo.outbox o where o.topic = 'qr.redeemed'
            and o.payload->>'qr_code_id' = b.qr_code_id::text) as events
  from bench_attempts a join bench_ids b using (n) join qr.qr_codes c on c.id = b.qr_code_id)
select count(*), count(*) filter (where status = 'redeemed'), count(*) filter (where successes = 1),
       count(*) filter (where successes > 1), count(*) filter (where logs = attempts),
       count(*) filter (where events = 1), (select count(*) from qr.unmatched_scan_logs)
from per_code;
SQL
)"
log "database: $db_codes codes scanned, $db_redeemed redeemed, $db_one_success with one success logged ($db_multi_success with more), $db_logs_match with one log row per attempt, $db_events_one with one qr.redeemed event"
((db_redeemed == db_codes)) || failures+=("database: $((db_codes - db_redeemed)) scanned codes are not redeemed")
((db_multi_success == 0)) || failures+=("database: $db_multi_success codes have more than one success logged")
((db_one_success == db_codes)) || failures+=("database: $((db_codes - db_one_success)) codes do not have exactly one success logged")
((db_logs_match == db_codes)) || failures+=("database: $((db_codes - db_logs_match)) codes have a log row count different from their attempts")
((db_events_one == db_codes)) || failures+=("database: $((db_codes - db_events_one)) codes do not have exactly one qr.redeemed event")
((unmatched1 == unmatched0)) || failures+=("database: $((unmatched1 - unmatched0)) scans logged as unmatched (a code refused before lookup)")

redeem_p50=$(sum run p50_ms)
redeem_p90=$(sum run p90_ms)
redeem_p99=$(sum run p99_ms)
redeem_max=$(sum run max_ms)
redeem_rate=$(sum run rate)
redeem_secs=$(sum run seconds)
redeem_late=$(sum run sent_late_over_1ms)
redeem_200=$(status_count run 200)
redeem_409=$(status_count run 409)

# --- rendering -----------------------------------------------------------------------------
render_code=$(python3 -c 'import sys; c = open(sys.argv[1]).readline().split()[1]; print("-".join(c[i:i+4] for i in range(0, len(c), 4)))' "$work/run.codes")
for kind in png svg; do
  ctype=$(curl -fsS --max-time 5 -o "$work/one.$kind" -w '%{content_type}' \
    -H "Authorization: Bearer $token" "$base/qr/codes/$render_code.$kind") ||
    { failures+=("rendering: GET /qr/codes/<code>.$kind failed"); continue; }
  case "$kind:$ctype" in
    png:image/png | svg:image/svg+xml) ;;
    *) failures+=("rendering: $kind answered $ctype") ;;
  esac
done
render_cmd="wolo-bench-load --concurrency $RENDER_C --duration $DURATION --url \$BASE/qr/codes/<code>.png -H 'Authorization: Bearer \$PARTNER_TOKEN'"
for kind in png svg; do
  url="$base/qr/codes/$render_code.$kind"
  if ((WARMUP > 0)); then
    log "rendering $kind: warm-up ${WARMUP}s at $RENDER_C concurrent"
    load "render-$kind-warmup" --concurrency "$RENDER_C" --duration "$WARMUP" --url "$url"
  fi
  log "rendering $kind: ${DURATION}s at $RENDER_C concurrent"
  load "render-$kind" --concurrency "$RENDER_C" --duration "$DURATION" --url "$url"
  n=$(sum "render-$kind" requests)
  ok=$(status_count "render-$kind" 200)
  [ "$ok" = "$n" ] || failures+=("rendering $kind: $((n - ok)) of $n answers were not 200")
done
png_bytes=$(stat -c %s "$work/one.png" 2>/dev/null || echo 0)
svg_bytes=$(stat -c %s "$work/one.svg" 2>/dev/null || echo 0)

kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

# --- report ----------------------------------------------------------------------------------
gap1_ms=$(awk -v r="$RATE" 'BEGIN { printf "%g", 1000 / r }')
gap20_ms=$(awk -v r="$RATE" 'BEGIN { printf "%g", 20000 / r }')
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "met" : "**missed**" }'; }
checks=passed
((${#failures[@]} == 0)) || checks="**FAILED**"
cat <<EOF
## QR redemption at ${RATE} requests per second

\`POST /qr/redeem\` by partner staff (Pape Seck, CinéTeranga) at a venue of the partner, at a
constant rate whatever the answers take (open model: request \`i\` is sent at \`t0 + i / ${RATE}\`,
its latency counted from that instant, so a slow answer that holds up the requests behind it
shows in theirs: no coordinated omission). Each of ${n_run_codes} fresh signed codes is scanned
twice: half of them twice in a row (${gap1_ms} ms apart, both in flight together), the others
${gap20_ms} ms apart (a code shown again at the counter). There is no PostgreSQL figure beside it: a
redemption is several statements (the code with its pack, partner and membership; the
conditional update; the attempt log; two outbox events) in one transaction.

| | figure | target | |
|---|---:|---:|---|
| scans sent | ${run_requests} in ${DURATION} s (${redeem_rate} /s) | ${RATE} /s | the last answered after ${redeem_secs} s; ${redeem_late} sent more than 1 ms after their time (waiting for one of the 256 slots) |
| latency p50 | ${redeem_p50} ms | | from the scheduled time to the end of the answer |
| latency p90 | ${redeem_p90} ms | | |
| latency p99 | **${redeem_p99} ms** | < ${TARGET_REDEEM_P99} ms | $(verdict "$redeem_p99" "$TARGET_REDEEM_P99") |
| latency max | ${redeem_max} ms | | |
| answers | ${redeem_200} × 200 redeemed, ${redeem_409} × 409 already used | one 200 per code | |
| correctness checks | ${checks} | all | answers and database, below |

Checked after the run (the warm-up's codes too), from the answers: every code got exactly one
200 and 409 \`already_used\` for its other scan; from the database: every scanned code is
\`redeemed\`, has exactly one \`success\` in \`qr.qr_redemption_logs\` and one log row per scan,
exactly one \`qr.redeemed\` event in the outbox, and no scan was logged in
\`qr.unmatched_scan_logs\` (${db_codes} codes: ${db_redeemed} redeemed, ${db_one_success} with one
success, ${db_logs_match} with every scan logged, ${db_events_one} with one event).

\`\`\`sh
${redeem_cmd}   # after ${WARMUP} s of warm-up on other codes
\`\`\`

## QR rendering

\`GET /qr/codes/{code}.png\` and \`.svg\` of one code (the grouped value, error correction M,
quiet zone; the PNG ${png_bytes} bytes, at least 480 × 480 px; the SVG ${svg_bytes} bytes), by
the same partner staff, ${RENDER_C} concurrent (closed model: each of ${RENDER_C} workers sends
its next request once answered), ${DURATION} s each after ${WARMUP} s of warm-up. Each request
checks the token, the code's tag and looks it up (owner or partner staff), then renders it.

| | requests | p50 | p90 | p99 | max | target p99 | |
|---|---:|---:|---:|---:|---:|---:|---|
| PNG | $(sum render-png requests) ($(sum render-png rate) /s) | $(sum render-png p50_ms) ms | $(sum render-png p90_ms) ms | **$(sum render-png p99_ms) ms** | $(sum render-png max_ms) ms | < ${TARGET_RENDER_P99} ms | $(verdict "$(sum render-png p99_ms)" "$TARGET_RENDER_P99") |
| SVG | $(sum render-svg requests) ($(sum render-svg rate) /s) | $(sum render-svg p50_ms) ms | $(sum render-svg p90_ms) ms | **$(sum render-svg p99_ms) ms** | $(sum render-svg max_ms) ms | < ${TARGET_RENDER_P99} ms | $(verdict "$(sum render-svg p99_ms)" "$TARGET_RENDER_P99") |

\`\`\`sh
${render_cmd}
${render_cmd/.png/.svg}
\`\`\`
EOF

if ((${#failures[@]} > 0)); then
  for f in "${failures[@]}"; do log "CHECK FAILED: $f"; done
  exit 1
fi
log "all checks passed"
