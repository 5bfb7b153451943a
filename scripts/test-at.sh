#!/usr/bin/env bash
# Runs tests with the clock set to another instant, for the whole stack: a throwaway
# PostgreSQL cluster and the test binaries both run under libfaketime with the same offset
# (the clock runs on from that instant), so now(), current_date, Utc::now() and tokens agree.
#
#   scripts/test-at.sh 2028-02-29T23:30:00Z                      # the whole workspace
#   scripts/test-at.sh 2027-02-28T12:00:00Z -p profiles -p pots  # some crates
#
# Installs Debian's faketime when missing. Monotonic clocks are left alone (timers and
# timeouts keep working). The cluster lives in /tmp/wolo-pg-at on port 55433 and is
# stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test-at: $*" >&2; }

if [ $# -lt 1 ]; then
  echo "usage: $0 INSTANT (e.g. 2028-02-29T23:30:00Z) [cargo test arguments]" >&2
  exit 2
fi
at=$1
shift
target=$(date -u -d "$at" +%s) || { echo "test-at: not an instant: $at" >&2; exit 2; }
offset=$((target - $(date -u +%s)))

lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)
if [ -z "$lib" ]; then
  log "installing faketime"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq faketime >&2
  lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n1)
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -n1)
[ -x "$bin/initdb" ] || { echo "test-at: PostgreSQL server binaries not found" >&2; exit 1; }
dir=/tmp/wolo-pg-at
port=55433
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  run_as=(runuser -u postgres --)
fi

# The same offset for every process (absolute start times would restart per process).
if [ "$offset" -ge 0 ]; then faketime="+$offset"; else faketime="$offset"; fi
fake=(env "LD_PRELOAD=$lib" "FAKETIME=$faketime" FAKETIME_DONT_FAKE_MONOTONIC=1)

"${run_as[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
"${run_as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
trap '"${run_as[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true' EXIT
"${run_as[@]}" "${fake[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null

url="postgres://postgres@127.0.0.1:$port/postgres"
log "database clock: $(psql "$url" -XAtc "select now()")  (asked for $at)"

# Build with the real clock (cargo compares file times), run the binaries under the offset.
cargo test --no-run "$@" >&2
runner=$(mktemp)
trap '"${run_as[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true; rm -f "$runner"' EXIT
printf '#!/bin/sh\nexec %s "$@"\n' "${fake[*]}" >"$runner"
chmod +x "$runner"
DATABASE_URL=$url CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$runner cargo test "$@"
