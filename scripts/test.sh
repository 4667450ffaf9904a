#!/usr/bin/env bash
# Set up everything (Debian packages, .venv, a local PostgreSQL) and run the whole test suite:
# unit and store tests (SQLite and PostgreSQL), the tutorials under nbval, the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/postgres.sh
export FLOWPOINT_BROWSER=/usr/bin/chromium
exec .venv/bin/python -m pytest tests notebooks \
    --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg "$@"
