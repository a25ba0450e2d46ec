#!/usr/bin/env bash
# ensure: make sure a PostgreSQL server answers on TERRARIUM_TEST_DATABASE_URL (default: the local
# cluster on 127.0.0.1:5432, database "test"), starting the machine's cluster if it is stopped.
set -euo pipefail
url="${TERRARIUM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

ready() { pg_isready -q -d "$url" 2>/dev/null; }

case "${1:-ensure}" in
  ensure)
    if ready; then exit 0; fi
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      echo "postgres.sh: PostgreSQL is down; starting the local cluster" >&2
      for v in /etc/postgresql/*; do
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
      done
      for _ in $(seq 1 100); do ready && exit 0; sleep 0.1; done
    fi
    echo "postgres.sh: no PostgreSQL answers at $url and it could not be started" >&2
    exit 1
    ;;
  *) echo "usage: postgres.sh ensure" >&2; exit 2 ;;
esac
