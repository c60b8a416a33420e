#!/usr/bin/env bash
# Lighthouse (mobile preset, the default) against the built article site, served with gzip.
#
#   npm ci --prefix scripts                 # once: installs Lighthouse (and axe-core)
#   bash scripts/lighthouse_check.sh [PAGE] # PAGE defaults to therapeutic-impasse/
#
# Builds the site with `mkdocs build --strict` into a temporary folder and serves it the way
# production would: scripts/serve_gzip.py (a small Python static server that gzips text and
# sends cache headers) on a free 127.0.0.1 port, passing the paths that are not files
# (the comments API and form) to `comments-service serve` running on a throwaway SQLite
# database. Then runs Lighthouse (mobile preset) with Debian's /usr/bin/chromium headless and
# prints the four category scores. Fails unless accessibility, best practices and SEO are
# 100 and performance is at least 95.
# Env: CHROME_PATH (default /usr/bin/chromium), SITE_DIR (check an already built site),
# LH_REPORT / LH_JSON (also write the HTML / JSON report there), LH_MIN_PERFORMANCE
# (default 95), LH_NO_SERVICE=1 (static files only: the page's live comment fetch then 404s,
# which Lighthouse counts as a console error).
set -euo pipefail
cd "$(dirname "$0")/.."

page=${1:-therapeutic-impasse/}
chrome=${CHROME_PATH:-/usr/bin/chromium}
lighthouse=scripts/node_modules/.bin/lighthouse
min_perf=${LH_MIN_PERFORMANCE:-95}
if [ ! -x "$lighthouse" ]; then
  echo "lighthouse_check: $lighthouse is missing; run: npm ci --prefix scripts" >&2
  exit 2
fi

work=$(mktemp -d)
server_pid=""
service_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

site=${SITE_DIR:-}
if [ -z "$site" ]; then
  site=$work/site
  .venv/bin/mkdocs build --strict --quiet -d "$site"
fi

free_port() {
  .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
site_port=$(free_port)
proxy_args=()
if [ "${LH_NO_SERVICE:-}" != 1 ]; then
  service_port=$(free_port)
  COMMENTS_MODE=development COMMENTS_VAR_DIR="$work/var" COMMENTS_SITE_DIR="$site" \
    COMMENTS_SERVE_SITE=false COMMENTS_SITE_URL="http://127.0.0.1:$site_port/" \
    .venv/bin/comments-service serve --port "$service_port" --log-level warning \
    >"$work/service.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$service_port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! curl -fs "http://127.0.0.1:$service_port/healthz" >/dev/null 2>&1; then
    echo "lighthouse_check: the comments service did not start:" >&2
    cat "$work/service.log" >&2
    exit 2
  fi
  proxy_args=(--proxy "http://127.0.0.1:$service_port")
fi

.venv/bin/python scripts/serve_gzip.py "$site" --port "$site_port" "${proxy_args[@]}" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  grep -q '^serving ' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^serving //p' "$work/server.log")
if [ -z "$base" ]; then
  echo "lighthouse_check: the static server did not start:" >&2
  cat "$work/server.log" >&2
  exit 2
fi

url="$base$page"
echo "Lighthouse (mobile) on $url"
"$lighthouse" "$url" \
  --chrome-path="$chrome" \
  --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run" \
  --only-categories=performance,accessibility,best-practices,seo \
  --output=json --output=html --output-path="$work/lh" --quiet
report="$work/lh.report.json"
if [ -n "${LH_JSON:-}" ]; then cp "$report" "$LH_JSON"; fi
if [ -n "${LH_REPORT:-}" ]; then
  cp "$work/lh.report.html" "$LH_REPORT" && echo "HTML report: $LH_REPORT"
fi

node -e '
  const lhr = require(process.argv[1]);
  const minPerf = Number(process.argv[2]);
  let ok = true;
  for (const [id, cat] of Object.entries(lhr.categories)) {
    const score = Math.round(cat.score * 100);
    const want = id === "performance" ? minPerf : 100;
    const pass = score >= want;
    ok = ok && pass;
    console.log(`${pass ? "ok  " : "FAIL"}  ${cat.title.padEnd(16)} ${String(score).padStart(3)} (want >= ${want})`);
    if (!pass) {
      for (const ref of cat.auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
          console.log(`        - ${audit.id}: ${audit.title} (${audit.displayValue || audit.score})`);
        }
      }
    }
  }
  process.exit(ok ? 0 : 1);
' "$report" "$min_perf"
