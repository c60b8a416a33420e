"""axe-core in Debian's Chromium: the built article pages have no accessibility violations."""

from __future__ import annotations

import pytest
from browser_support import axe_violations, launched_chromium, require_axe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    require_axe()
    with launched_chromium() as chromium:
        yield chromium


def page_violations(browser, url: str, scheme: str) -> list[dict]:  # type: ignore[no-untyped-def]
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        return axe_violations(page)
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["therapeutic-impasse/", ""], ids=["article", "home"])
def test_page_has_no_axe_violations(  # type: ignore[no-untyped-def]
    browser, real_site_url: str, path: str, scheme: str
) -> None:
    assert page_violations(browser, real_site_url + path, scheme) == []
