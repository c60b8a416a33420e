#!/usr/bin/env bash
# The run command: installs the package, builds the site, adds the fictional sample thread
# and a staff account on first run, and serves site + comments service on one URL
# (SQLite under var/). Set PORT to use another port than 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
export COMMENTS_MODE=${COMMENTS_MODE:-development}
PORT=${PORT:-8000}
export COMMENTS_SITE_URL=${COMMENTS_SITE_URL:-http://127.0.0.1:$PORT/}
.venv/bin/comments-service migrate
.venv/bin/comments-service demo-seed
# The MkDocs plugin bakes the approved comments into the pages; build-site builds into a
# fresh folder and swaps it in only when the build succeeds.
.venv/bin/comments-service build-site --quiet
echo "Site and comments: http://127.0.0.1:$PORT/   Moderation: http://127.0.0.1:$PORT/staff/"
exec .venv/bin/comments-service serve --host 127.0.0.1 --port "$PORT"
