"""Debian's Chromium through Playwright, shared by every browser test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from site_support import REPO

AXE_JS = REPO / "scripts" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A headless Chromium, or a skip that says what is missing."""
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
        try:
            yield chromium
        finally:
            chromium.close()


def require_axe() -> None:
    """Skip, saying how to install it, when axe-core is not there."""
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS}: run `npm ci --prefix scripts`")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it stands; its violations, each with where and why."""
    # Evaluated over DevTools rather than added as an inline <script>: the service's pages
    # have a Content-Security-Policy that (rightly) blocks inline scripts it did not hash.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document)")
    assert result["passes"], "axe ran no rules"
    return [
        {"id": v["id"], "help": v["help"],
         "nodes": [(n["target"], n["failureSummary"]) for n in v["nodes"]]}
        for v in result["violations"]
    ]
