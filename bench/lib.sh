# Shared by bench/run.sh and the workload scripts it runs (checkout.sh, qr.sh, footprint.sh).
# Source it after defining `log` and `die`.

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_ready PID LOG PATH...: waits until every PATH of $base answers 200 (20 s at most);
# dies with the server's log if the server exits or the time runs out.
wait_ready() {
  local pid=$1 serve_log=$2 i p ready
  shift 2
  for i in $(seq 1 100); do
    ready=yes
    for p in "$@"; do
      curl -fsS --max-time 2 "$base$p" >/dev/null 2>&1 || { ready=no; break; }
    done
    [ "$ready" = yes ] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -50 "$serve_log" >&2; die "wolo serve exited"; }
    sleep 0.2
  done
  tail -50 "$serve_log" >&2
  die "$* did not answer 200 within 20 s"
}

# check_one_pot BODY POT PATH: BODY (a REST answer) is exactly the one pot POT.
check_one_pot() {
  python3 - "$1" "$2" <<'PY' || die "GET $3 did not return exactly the one pot"
import json, sys
rows = json.loads(sys.argv[1])
assert isinstance(rows, list) and len(rows) == 1 and rows[0]["id"] == sys.argv[2], rows
PY
}
