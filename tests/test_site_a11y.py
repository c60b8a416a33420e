"""axe-core in Debian's Chromium: the built article pages have no accessibility violations."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from site_support import REPO, real_site

pytestmark = pytest.mark.browser

AXE_JS = REPO / "scripts" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    handler = functools.partial(QuietHandler, directory=str(result.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS}: run `npm ci --prefix scripts`")
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed")
    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.skip(f"Chromium did not start through Playwright: {exc}")
        yield chromium
        chromium.close()


def axe_violations(browser, url: str, scheme: str) -> list[dict]:  # type: ignore[no-untyped-def]
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
        result = page.evaluate("() => axe.run(document)")
    finally:
        context.close()
    assert result["passes"], "axe ran no rules"
    return [
        {"id": v["id"], "help": v["help"],
         "nodes": [(n["target"], n["failureSummary"]) for n in v["nodes"]]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["therapeutic-impasse/", ""], ids=["article", "home"])
def test_page_has_no_axe_violations(  # type: ignore[no-untyped-def]
    browser, base_url: str, path: str, scheme: str
) -> None:
    assert axe_violations(browser, base_url + path, scheme) == []
