#!/usr/bin/env bash
# The test command: installs everything, lints, then runs the whole pytest suite
# (site build, API on SQLite and PostgreSQL, staff pages, mail, browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
