"""Run axe-core against the built article site in Debian's Chromium, light and dark palettes.

Usage:
    npm ci --prefix scripts                  # once: installs axe-core (and Lighthouse)
    .venv/bin/python scripts/axe_check.py    # builds the site into a temp folder, checks it
    .venv/bin/python scripts/axe_check.py --site-dir site --page therapeutic-impasse/ --page ""

The site is served with gzip on a free 127.0.0.1 port by scripts/serve_gzip.py's handler.
Every rule axe runs by default is checked (WCAG 2.x A/AA and best practices). Exits 1 and
lists each violation with its nodes when any page has one.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = ROOT / "scripts" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEFAULT_PAGES = ["therapeutic-impasse/", "", "working-through-resistance/", "terms/", "tags/"]

sys.path.insert(0, str(ROOT / "scripts"))
from serve_gzip import GzipHandler  # noqa: E402


def build(site_dir: Path) -> None:
    """mkdocs build --strict into site_dir (comments are baked in if a database exists)."""
    subprocess.run([str(ROOT / ".venv" / "bin" / "mkdocs"), "build", "--strict", "--quiet",
                    "-f", str(ROOT / "mkdocs.yml"), "-d", str(site_dir)], check=True, cwd=ROOT)


def serve(site_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(GzipHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def check(base_url: str, pages: list[str], schemes: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    axe_source = AXE_JS.read_text(encoding="utf-8")
    failures = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme in schemes:
            context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
            page = context.new_page()
            for path in pages:
                page.goto(base_url + path, wait_until="networkidle")
                page.add_script_tag(content=axe_source)
                result = page.evaluate("() => axe.run(document)")
                violations = result["violations"]
                label = f"/{path} ({scheme})"
                if not violations:
                    print(f"ok    {label}: 0 violations, {len(result['passes'])} rules passed")
                    continue
                failures += len(violations)
                print(f"FAIL  {label}: {len(violations)} violation(s)")
                for v in violations:
                    print(f"  - {v['id']} [{v['impact']}]: {v['help']}")
                    for node in v["nodes"][:5]:
                        print(f"      {', '.join(node['target'])}: {node['failureSummary']}")
            context.close()
        browser.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description="axe-core check of the built site")
    parser.add_argument("--site-dir", type=Path, help="an already built site (default: build)")
    parser.add_argument("--page", action="append", dest="pages",
                        help="site-relative path to check; repeatable (default: main pages)")
    parser.add_argument("--scheme", action="append", dest="schemes", choices=["light", "dark"],
                        help="palette to check; repeatable (default: both)")
    args = parser.parse_args()
    if not AXE_JS.is_file():
        print(f"axe_check: {AXE_JS} is missing; run: npm ci --prefix scripts", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = args.site_dir
        if site_dir is None:
            site_dir = Path(tmp) / "site"
            build(site_dir)
        server, base_url = serve(site_dir)
        try:
            failures = check(base_url, args.pages if args.pages is not None else DEFAULT_PAGES,
                             args.schemes or ["light", "dark"])
        finally:
            server.shutdown()
    print("axe: no violations" if not failures else f"axe: {failures} violation(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
