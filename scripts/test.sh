#!/usr/bin/env bash
# The test command: installs everything, lints, then runs the whole pytest suite
# (site build, API on SQLite and PostgreSQL, staff pages, mail, browser tests), after the
# lint and the import-layer check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
# The layering contract in pyproject.toml: a forbidden import fails the run.
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
