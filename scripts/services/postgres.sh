#!/usr/bin/env bash
# ensure: make sure a PostgreSQL server answers on TERRARIUM_TEST_DATABASE_URL (default: the local
# cluster on 127.0.0.1:5432, database "test"), starting the machine's cluster if it is stopped,
# and that the URL's database exists, creating it if it does not. Exits non-zero if either fails.
set -euo pipefail
url="${TERRARIUM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

ready() { pg_isready -q -d "$url" 2>/dev/null; }

# pg_isready only asks whether the server accepts connections; the database may still be missing.
database_exists() { psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }

# The URL without its query, its database name, and the same server's maintenance database
# (postgres) with the query kept, for createdb to connect to.
without_query="${url%%\?*}"
query="${url#"$without_query"}"
database="${without_query##*/}"
maintenance="${without_query%/*}/postgres${query}"

ensure_database() {
  if database_exists; then return 0; fi
  echo "postgres.sh: creating database \"$database\"" >&2
  if ! createdb --maintenance-db="$maintenance" "$database"; then
    echo "postgres.sh: the server answers at $url, but database \"$database\" cannot be opened and could not be created" >&2
    exit 1
  fi
}

# Starts the machine's cluster and waits up to 10 s for it to answer; exits if it does not.
start_server() {
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "postgres.sh: PostgreSQL is down; starting the local cluster" >&2
    for v in /etc/postgresql/*; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
    done
    for _ in $(seq 1 100); do
      if ready; then return 0; fi
      sleep 0.1
    done
  fi
  echo "postgres.sh: no PostgreSQL answers at $url and it could not be started" >&2
  exit 1
}

case "${1:-ensure}" in
  ensure)
    ready || start_server
    ensure_database
    ;;
  *) echo "usage: postgres.sh ensure" >&2; exit 2 ;;
esac
