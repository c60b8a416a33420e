"""Newly approved comments reach an open page without a reload, in Chromium.

The page polls with the thread's ETag (a revalidation; unchanged answers are 304s), not in
a background tab, less and less often while nothing changes, and says politely how many
new comments came. The site here polls every second (mkdocs.yml poll_seconds) so the
tests stay short.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import launched_chromium
from reader_support import ARTICLE, ReaderSite, reader_site
from service_support import approve
from sqlalchemy import insert
from thread_support import seed_thread

from comments_service.store.models import Comment, CommentStatus, utcnow

pytestmark = pytest.mark.browser

WAIT_MS = 10_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReaderSite]:
    def seed(database: Any) -> None:
        seed_thread(database, ARTICLE, roots=2)

    with reader_site(tmp_path_factory, seed, poll=1) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.thread_reads = []  # type: ignore[attr-defined]
    page.on("request", lambda r: f"/api/articles/{ARTICLE}/comments" in r.url
            and r.method == "GET" and page.thread_reads.append((time.monotonic(), r)))
    yield page
    context.close()


def held_comment(site: ReaderSite, body: str) -> int:
    """A reader's comment waiting in the queue (as a post leaves it)."""
    table = Comment.__table__
    with site.database.write() as session:
        return session.execute(insert(table).values(
            article_id=ARTICLE, depth=0, author_name="Noor Example", body=body,
            body_html=f"<p>{body}</p>", status=CommentStatus.PENDING, created_at=utcnow(),
            updated_at=utcnow()).returning(table.c.id)).scalar_one()


def set_hidden(page: Any, hidden: bool) -> None:
    """As the browser does when the reader switches tabs."""
    page.evaluate("h => { Object.defineProperty(document, 'hidden',"
                  " {value: h, configurable: true});"
                  " document.dispatchEvent(new Event('visibilitychange')); }", hidden)


def test_an_approved_comment_appears_and_is_announced(site, page):
    page.goto(site.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    start = page.locator(".cs-count").inner_text()
    first = held_comment(site, "Approved while the page was open.")
    second = held_comment(site, "And a second one with it.")
    approve(site.database, first)
    approve(site.database, second)

    page.locator(f"#comment-{second}").wait_for()
    assert start == "2 comments"
    assert page.locator(".cs-count").inner_text() == "4 comments"
    live = page.locator(".cs-live[aria-live=polite]")
    live.filter(has_text="2 new comments").wait_for()


def test_unchanged_polls_revalidate_and_slow_down(site, page):
    page.goto(site.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    page.wait_for_timeout(7_500)
    reads = page.thread_reads
    # 1 s, then 2, then 4 while nothing changes: far fewer than one a second.
    assert 2 <= len(reads) <= 5, [r.url for _, r in reads]
    # Each asks "changed since this ETag?", which the service answers 304 with no body.
    etag = reads[0][1].response().all_headers()["etag"]
    assert all(r.all_headers().get("if-none-match") == etag for _, r in reads[1:])


def test_a_hidden_tab_does_not_poll_until_it_is_shown_again(site, page):
    page.goto(site.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    set_hidden(page, True)
    page.wait_for_timeout(1_500)
    before = len(page.thread_reads)
    page.wait_for_timeout(3_000)
    assert len(page.thread_reads) == before

    set_hidden(page, False)
    page.wait_for_timeout(1_500)
    # At once on coming back, then at the usual pace.
    assert before + 1 <= len(page.thread_reads) <= before + 2
