"""A thread of 1,000 comments in Chromium: the first page at once, more on request, and a
link to any comment shows it, on a later page too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import axe_violations, launched_chromium, require_axe
from reader_support import ReaderSite, reader_site
from thread_support import seed_thread

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
CHAINS: list[list[int]] = []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReaderSite]:
    def seed(database: Any) -> None:
        CHAINS[:] = seed_thread(database, "therapeutic-impasse", roots=500, replies=1)

    with reader_site(tmp_path_factory, seed, order="newest") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def roots(page: Any) -> Any:
    return page.locator(".cs-thread > ol.cs-list > li[data-comment-id]")


def test_a_thousand_comments_load_one_page_fast_and_more_on_request(site, page):
    started = time.monotonic()
    page.goto(site.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    page.locator("button.cs-more-link").wait_for()
    assert time.monotonic() - started < 5
    assert page.locator(".cs-count").inner_text() == "1000 comments"
    assert roots(page).count() == 50
    # Newest first, as the site asks; each reply under its own comment.
    newest = CHAINS[-1]
    assert roots(page).first.get_attribute("data-comment-id") == str(newest[0])
    assert page.locator(f'li[data-comment-id="{newest[0]}"] li[data-comment-id="{newest[1]}"]'
                        ).count() == 1

    page.get_by_role("button", name="Show more comments").click()
    first_new = page.locator(f"#comment-{CHAINS[-51][0]}")
    first_new.wait_for()
    assert roots(page).count() == 100
    # The reader goes on reading where the new comments start.
    assert page.evaluate("document.activeElement.id") == f"comment-{CHAINS[-51][0]}"
    require_axe()
    # The pointer is still where the button was, now over a link in its hover colour.
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # Material fades link colours (125 ms)
    assert axe_violations(page) == []


def test_a_link_to_a_comment_on_a_later_page_shows_it(site, page):
    wanted = CHAINS[100][1]  # a reply, eight pages down
    page.goto(site.article_url(f"#comment-{wanted}"))
    target = page.locator(f"#comment-{wanted}")
    target.wait_for()
    page.wait_for_function(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top > 40 && r.top < innerHeight; }", arg=f"comment-{wanted}")
    # Below the sticky header; the pages up to it came, and the button offers the rest.
    assert page.locator("button.cs-more-link").is_visible()


def test_without_javascript_the_baked_link_leads_through_every_page(site, browser):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto(site.article_url())
        assert roots(page).count() == 50
        page.get_by_role("link", name="Show more comments").click()
        page.locator(f"#comment-{CHAINS[-51][0]}").wait_for()
        assert page.locator("article").count() == 100  # 50 comments, each with its reply
        page.get_by_role("link", name="Older comments").wait_for()
    finally:
        context.close()
