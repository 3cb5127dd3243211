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

# Redis (REDIS_URL's shared rate-limit counters; tests/test_api_ratelimit.py, which skips
# without it, or fails under CI=true): HOTLINE_TEST_REDIS_URL, default redis://127.0.0.1:6379/0.
redis_up() { .venv/bin/python - <<'PY'
import os, redis
redis.Redis.from_url(os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), socket_connect_timeout=3).ping()
PY
}
if ! redis_up 2>/dev/null && command -v redis-server >/dev/null 2>&1 && [ -z "${HOTLINE_TEST_REDIS_URL:-}" ]; then
  echo "Redis not answering; starting a local redis-server (nothing kept on disk)" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi

# The browser test (tests/test_browser.py) drives Debian's Chromium through Playwright;
# the playwright wheel brings its own driver, and no browser is ever downloaded. The pages
# are Chinese, so a CJK font is needed too (otherwise the screenshots show boxes).
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -n "$(fc-list :lang=zh 2>/dev/null || true)" ] || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} for the browser test (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" \
    || echo "WARNING: could not install ${need[*]}; without chromium the browser test skips (fails under CI=true)" >&2
fi

mkdir -p test-output
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" -p no:cacheprovider "$@" tests
