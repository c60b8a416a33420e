"""Search in Debian's Chromium: the index loads only when a reader starts to search.

Material's bundle would fetch and parse the whole index (every article's text) on every
first page view; overrides/assets/javascripts/search-on-demand.js holds that request.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import launched_chromium

pytestmark = pytest.mark.browser

ARTICLE = "therapeutic-impasse/"
INDEX = "search/search_index.json"


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with launched_chromium() as chromium:
        yield chromium


def open_page(browser: Any, url: str, mobile: bool) -> tuple[Any, Any, list[str]]:
    if mobile:
        context = browser.new_context(viewport={"width": 412, "height": 823}, is_mobile=True,
                                      has_touch=True)
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url, wait_until="networkidle")
    return context, page, requested


def index_requested(requested: list[str]) -> bool:
    return any(url.split("?")[0].endswith(INDEX) for url in requested)


def first_result(page: Any) -> str:
    item = page.locator(".md-search-result__item").first
    item.wait_for()
    return item.inner_text()


def test_keyboard_search_loads_the_index_on_demand_and_finds_articles(browser, real_site_url):  # type: ignore[no-untyped-def]
    context, page, requested = open_page(browser, real_site_url + ARTICLE, mobile=False)
    try:
        page.wait_for_timeout(300)  # the bundle has started and asked for what it wants
        assert not index_requested(requested)
        page.keyboard.press("/")  # Material's shortcut focuses the search field
        page.keyboard.type("supervisor")
        assert "Supervisor" in first_result(page)
        assert index_requested(requested)
    finally:
        context.close()


def test_search_button_on_a_phone_loads_the_index(browser, real_site_url):  # type: ignore[no-untyped-def]
    context, page, requested = open_page(browser, real_site_url, mobile=True)
    try:
        assert not index_requested(requested)
        page.locator("label.md-header__button[for='__search']").click()
        page.keyboard.type("impasse")
        assert "Impasse" in first_result(page)
        assert index_requested(requested)
    finally:
        context.close()


def test_arriving_from_a_search_result_still_highlights_the_terms(browser, real_site_url):  # type: ignore[no-untyped-def]
    context, page, requested = open_page(browser, real_site_url + ARTICLE + "?h=therapist",
                                         mobile=False)
    try:
        page.locator("mark[data-md-highlight]").first.wait_for()
        assert index_requested(requested)
    finally:
        context.close()
