#!/usr/bin/env bash
# Set up everything and run the app on SQLite with demo data: http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi
export HOTLINE_CONFIG=${HOTLINE_CONFIG:-development}  # the demo: plain HTTP, development settings
.venv/bin/flask db upgrade
.venv/bin/flask demo load
exec .venv/bin/flask run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
