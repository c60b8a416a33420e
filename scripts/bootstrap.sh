#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: system packages (when root),
# a virtualenv in .venv with the package and its test extras, and the Node tools the
# accessibility checks use. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_apt=()
command -v chromium >/dev/null 2>&1 || want_apt+=(chromium)
command -v node >/dev/null 2>&1 || want_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || want_apt+=(npm)
if [ ${#want_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want_apt[@]}" >/dev/null
  else
    echo "bootstrap: please install with your package manager: ${want_apt[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

if [ -f scripts/package.json ] && command -v npm >/dev/null 2>&1; then
  if [ -f scripts/package-lock.json ]; then
    npm ci --prefix scripts --no-audit --no-fund --loglevel=error
  else
    npm install --prefix scripts --no-audit --no-fund --loglevel=error
  fi
fi
