#!/usr/bin/env bash
# The footprint of `wolo serve` (issue #16, item 6); called by `make bench`, or by hand.
# Prints markdown on stdout, logs on stderr; exits non-zero only when a correctness check
# fails (a read that does not return the pot), never on a figure.
#
#   start-up   the time from spawning `wolo serve` to all ten services' /ready answering 200
#              (each polled every 5 ms), over FOOTPRINT_STARTS (default 3) starts: median and
#              best;
#   idle       resident memory (VmRSS, /proc/<pid>/status) 2 s after all are ready, and the
#              peak so far (VmHWM), in each of those starts: median;
#   under load peak resident memory (VmHWM) of one more start after DURATION seconds of the
#              read of bench/run.sh (GET /pots/pots?id=eq.<pot> with a user token, 16
#              connections: wrk -t2 -c16, or wolo-bench-load --concurrency 16 without wrk),
#              after WARMUP seconds of warm-up.
#
# Environment: DATABASE_URL (a migrated and seeded database), WOLO (release `wolo`),
# TOKEN_BIN (release `wolo-bench-token`), LOAD_BIN (release `wolo-bench-load`), WORK (a
# temporary directory), DURATION and WARMUP (seconds); FOOTPRINT_STARTS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "bench/footprint: $*" >&2; }
die() { log "error: $*"; exit 1; }
. "$(dirname "$0")/lib.sh"

for v in DATABASE_URL WOLO TOKEN_BIN LOAD_BIN WORK DURATION WARMUP; do
  [ -n "${!v:-}" ] || die "$v is not set"
done
for v in WOLO TOKEN_BIN LOAD_BIN; do [ -x "${!v}" ] || die "$v (${!v}) is not executable"; done
STARTS=${FOOTPRINT_STARTS:-3}
for v in DURATION WARMUP STARTS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got ${!v})"
done
((DURATION >= 1 && STARTS >= 1)) || die "DURATION and FOOTPRINT_STARTS must be at least 1"
LIMIT=$((DURATION + 30))
CONNECTIONS=16
THREADS=2
IDLE_WAIT=2
TARGET_IDLE_MB=30
TARGET_LOAD_MB=60
TARGET_READY_S=1
# Seeds: Moussa owns the open pot (see seeds/README.md).
OWNER=00000000-0000-4000-a000-010100000002
POT=00000000-0000-4000-a000-040100000002
SERVICES="identity profiles referral pots donations packs qr notifications analytics admin"
mkdir -p "$WORK"
work=$(mktemp -d "$WORK/footprint.XXXXXX")

export WOLO_JWT_SECRET=${WOLO_JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
unset RUST_LOG_FORMAT

server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
cleanup() {
  local rc=$?
  stop_server
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- start-up and idle -----------------------------------------------------------------------
# startup.py spawns `wolo serve` itself (the clock starts just before the spawn), polls every
# service's /ready until all have answered 200, waits IDLE_WAIT seconds, reads VmRSS and
# VmHWM (and how much of it is anonymous memory, how much pages of files: the executable's),
# and stops it. One line per start: seconds_to_ready rss_kb hwm_kb anon_kb file_kb.
cat >"$work/startup.py" <<'PY'
import http.client, os, signal, subprocess, sys, time

wolo, services, idle_wait, log = sys.argv[1], sys.argv[2].split(), float(sys.argv[3]), sys.argv[4]
host, port = os.environ["WOLO_HTTP_ADDR"].split(":")

def ready(service):
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=1)
        c.request("GET", f"/{service}/ready")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False

def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

with open(log, "ab") as out:
    t0 = time.monotonic()
    p = subprocess.Popen([wolo, "serve"], stdout=out, stderr=out)
    waiting = set(services)
    try:
        while waiting:
            if p.poll() is not None:
                sys.exit(f"wolo serve exited with status {p.returncode}")
            if time.monotonic() - t0 > 20:
                sys.exit(f"not ready after 20 s: {' '.join(sorted(waiting))}")
            waiting = {s for s in waiting if not ready(s)}
            if waiting:
                time.sleep(0.005)
        took = time.monotonic() - t0
        time.sleep(idle_wait)
        keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
        print(f"{took:.3f}", *(status(p.pid, k) for k in keys), flush=True)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
PY
: >"$work/starts.txt"
for i in $(seq 1 "$STARTS"); do
  WOLO_HTTP_ADDR=127.0.0.1:$(free_port) python3 "$work/startup.py" "$WOLO" "$SERVICES" "$IDLE_WAIT" "$work/serve.log" \
    >>"$work/starts.txt" || { tail -20 "$work/serve.log" >&2; die "start $i failed"; }
  log "start $i: $(tail -1 "$work/starts.txt") (seconds to ready, VmRSS, VmHWM, RssAnon, RssFile in kB)"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ready_median=$(awk '{print $1}' "$work/starts.txt" | median)
ready_best=$(awk '{print $1}' "$work/starts.txt" | sort -n | head -1)
idle_rss=$(awk '{print $2}' "$work/starts.txt" | median)
idle_hwm=$(awk '{print $3}' "$work/starts.txt" | median)
idle_anon=$(awk '{print $4}' "$work/starts.txt" | median)
idle_file=$(awk '{print $5}' "$work/starts.txt" | median)
ready_all=$(awk '{printf "%s%s", sep, $1; sep = ", "}' "$work/starts.txt")

# --- under the read load -----------------------------------------------------------------------
export WOLO_HTTP_ADDR=127.0.0.1:$(free_port)
base=http://$WOLO_HTTP_ADDR
"$WOLO" serve >>"$work/serve.log" 2>&1 &
server_pid=$!
wait_ready "$server_pid" "$work/serve.log" /pots/ready
sleep "$IDLE_WAIT"
before_rss=$(kb "$server_pid" VmRSS)
token=$("$TOKEN_BIN" wolo_user "$OWNER" 3600)
path="/pots/pots?id=eq.$POT"
url="$base$path"
body=$(curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$url") || die "GET $path failed"
check_one_pot "$body" "$POT" "$path"
if command -v wrk >/dev/null 2>&1; then
  tool="wrk -t$THREADS -c$CONNECTIONS"
  load_cmd="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
  run_load() { timeout "$LIMIT" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" -H "Authorization: Bearer $token" "$url"; }
else
  tool="wolo-bench-load --concurrency $CONNECTIONS"
  load_cmd="wolo-bench-load --concurrency $CONNECTIONS --duration $DURATION --url"
  run_load() { timeout "$LIMIT" "$LOAD_BIN" --concurrency "$CONNECTIONS" --duration "$1" -H "Authorization: Bearer $token" --url "$url"; }
fi
if ((WARMUP > 0)); then
  log "read load: warm-up ${WARMUP}s ($tool)"
  run_load "$WARMUP" >/dev/null
fi
log "read load: ${DURATION}s ($tool)"
run_load "$DURATION" >"$work/load.txt"
cat "$work/load.txt" >&2
load_errors=$( { grep -E 'Non-2xx|Socket errors' "$work/load.txt" || true; awk '$1 == "status" && $2 != "200"' "$work/load.txt"; } | head -3)
[ -z "$load_errors" ] || die "the read load saw errors: $load_errors"
load_hwm=$(kb "$server_pid" VmHWM)
load_rss=$(kb "$server_pid" VmRSS)
load_anon=$(kb "$server_pid" RssAnon)
load_file=$(kb "$server_pid" RssFile)
threads=$(kb "$server_pid" Threads)
rps=$(awk '/^Requests\/sec:/{print $2} $1 == "rate" {print $2}' "$work/load.txt")
stop_server

# --- report ----------------------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "met" : "**missed**" }'; }
cat <<EOF
## Footprint

\`wolo serve\` (the ten services in one process, release build, default settings: a pool of
up to 10 connections per service, opened lazily), on $(nproc) CPUs. Resident memory is
\`VmRSS\` (now) and \`VmHWM\` (peak) of \`/proc/<pid>/status\`, in MiB (1 024 kB; the targets are
read as MiB).

| | figure | target | | how |
|---|---:|---:|---|---|
| start to every \`/ready\` 200 | **${ready_median} s** (best ${ready_best} s) | < ${TARGET_READY_S} s | $(verdict "$ready_median" "$TARGET_READY_S") | median of ${STARTS} starts (${ready_all} s): from spawning \`wolo serve\` until \`/<service>/ready\` of all ten has answered 200, each polled every 5 ms |
| resident memory, idle | **$(mb "$idle_rss") MiB** (peak so far $(mb "$idle_hwm") MiB) | < ${TARGET_IDLE_MB} MiB | $(verdict "$(mb "$idle_rss")" "$TARGET_IDLE_MB") | VmRSS ${IDLE_WAIT} s after ready, median of the same starts (VmHWM beside it); of it $(mb "$idle_anon") MiB anonymous (heap, stacks) and $(mb "$idle_file") MiB pages of files, nearly all the \`wolo\` executable's code |
| resident memory, under load | **$(mb "$load_hwm") MiB** peak ($(mb "$load_rss") MiB at the end) | < ${TARGET_LOAD_MB} MiB | $(verdict "$(mb "$load_hwm")" "$TARGET_LOAD_MB") | VmHWM after ${WARMUP} s of warm-up and ${DURATION} s of pot reads at ${CONNECTIONS} connections ($(printf '%.0f' "${rps:-0}") req/s; $(mb "$before_rss") MiB before; at the end $(mb "$load_anon") MiB anonymous, $(mb "$load_file") MiB of files; ${threads} threads) |

Most of the resident memory is the executable itself: its pages are mapped from the page
cache as the code runs (each fault maps its neighbours too), so a $(mb $(( $(stat -c %s "$WOLO") / 1024 ))) MiB executable whose code is
touched all over at start-up (ten services, their jobs, the REST layer) shows as
$(mb "$idle_file") MiB of file pages, clean, shared with any other process running it, and given
back first under memory pressure. What the process allocated itself (anonymous: heap, stacks
of its ${threads} threads) is $(mb "$idle_anon") MiB idle and $(mb "$load_anon") MiB after the load.

\`\`\`sh
wolo serve &    # polled: GET /{identity,profiles,referral,pots,donations,packs,qr,notifications,analytics,admin}/ready
grep -E 'VmRSS|VmHWM' /proc/\$PID/status
${load_cmd} -H "Authorization: Bearer \$TOKEN" "\$BASE/pots/pots?id=eq.${POT}"   # after ${WARMUP} s of warm-up
\`\`\`
EOF
