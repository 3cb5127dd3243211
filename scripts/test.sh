#!/usr/bin/env bash
# Set up everything and run all tests, on SQLite and on PostgreSQL.
# PostgreSQL: HOTLINE_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
# the suite makes and drops its own throw-away databases. Under CI=true a missing
# server fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

pg_up() { .venv/bin/python - <<'PY'
import os, psycopg
psycopg.connect(os.environ.get("HOTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"), connect_timeout=3).close()
PY
}
if ! pg_up 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL not answering; trying to start the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

mkdir -p test-output
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" -p no:cacheprovider "$@" tests
