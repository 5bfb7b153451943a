#!/usr/bin/env bash
# Prints a DATABASE_URL whose server is up and whose database exists.
#
# 1. DATABASE_URL set: use it (creating its database if the server lacks it).
# 2. Otherwise a PostgreSQL on 127.0.0.1:5432: use database `wolo` on it as `postgres`.
# 3. Otherwise start a throwaway cluster from PostgreSQL's own binaries (installed with
#    apt when missing) under ${WOLO_PG_DIR:-/tmp/wolo-pg}, on 127.0.0.1:55432.
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail

log() { echo "ensure-db: $*" >&2; }

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

need_client() {
  command -v psql >/dev/null 2>&1 && return 0
  log "installing the PostgreSQL client (psql)"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >&2
}

# with_db URL NAME: the same server and credentials, another database.
with_db() {
  python3 - "$1" "$2" <<'PY'
import re, sys
url, db = sys.argv[1], sys.argv[2]
m = re.match(r"^(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", url)
print(f"{m.group(1)}/{db}{m.group(3) or ''}")
PY
}

db_name() {
  python3 - "$1" <<'PY'
import re, sys
m = re.match(r"^postgres(?:ql)?://[^/?]*/([^?]*)", sys.argv[1])
print(m.group(1) if m and m.group(1) else "postgres")
PY
}

ensure_database() {
  local url=$1 name
  name=$(db_name "$url")
  if ! psql "$url" -XAtqc 'select 1' >/dev/null 2>&1; then
    log "creating database $name"
    psql "$(with_db "$url" postgres)" -XAtqc "create database \"$name\"" >&2
  fi
  echo "$url"
}

need_client

if [ -n "${DATABASE_URL:-}" ]; then
  ensure_database "$DATABASE_URL"
  exit 0
fi

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  ensure_database "postgres://postgres@127.0.0.1:5432/wolo"
  exit 0
fi

dir=${WOLO_PG_DIR:-/tmp/wolo-pg}
port=55432
if ! pg_isready -q -h 127.0.0.1 -p $port 2>/dev/null; then
  bin=$(pg_bin) || {
    log "no PostgreSQL server binaries: installing them with apt"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(pg_bin)
  }
  run_as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    run_as=(runuser -u postgres --)
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "initialising a throwaway cluster in $dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${run_as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
  fi
  log "starting the throwaway cluster on 127.0.0.1:$port"
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2
fi
ensure_database "postgres://postgres@127.0.0.1:$port/wolo"
