"""The page's script reads the thread and the counts from the static host first.

The real site (built without a database, so nothing baked) served by a plain static file
server with no service behind it: the files in comments-data/ are all the thread there is.
Where a file is missing the script asks the API, answered here by Playwright's routing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import launched_chromium
from site_support import real_site, served

from comments_service.site import static_threads

pytestmark = pytest.mark.browser

ARTICLE = "therapeutic-impasse"
WAIT_MS = 10_000


def comment(comment_id: int, author: str, text: str) -> dict[str, Any]:
    """One public comment in the API's shape (fictional)."""
    return {"id": comment_id, "parent_id": None, "author": author,
            "body_html": f"<p>{text}</p>", "created_at": "2026-11-20T09:00:00Z",
            "staff": False, "signature": None, "content_note": None}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = real_site(tmp_path_factory)
    assert build.returncode == 0, build.output
    copy = tmp_path_factory.mktemp("static-threads") / "site"
    shutil.copytree(build.site_dir, copy)
    return copy


@pytest.fixture
def site_url(site: Path) -> Iterator[str]:
    data = static_threads.data_dir(site)
    shutil.rmtree(data, ignore_errors=True)
    with served(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.api_requests = []  # type: ignore[attr-defined]
    page.on("request", lambda r: "/api/" in r.url and page.api_requests.append(r.url))
    try:
        yield page
    finally:
        context.close()


def write_thread(site: Path, *comments: dict[str, Any]) -> None:
    path = static_threads.thread_path(site, ARTICLE)
    static_threads.write_if_changed(path, static_threads.thread_bytes(ARTICLE, list(comments)))


def thread_requests(page: Any) -> list[str]:
    return [url for url in page.api_requests if "/comments" in url]


def test_the_thread_comes_from_the_static_copy_without_asking_the_service(site, site_url,
                                                                           page):
    write_thread(site, comment(1, "Ann Example", "Read from the static host."))

    page.goto(f"{site_url}{ARTICLE}/")

    page.locator(".cs-item", has_text="Read from the static host.").wait_for()
    assert page.locator(".cs-count").inner_text() == "1 comment"
    assert thread_requests(page) == []


def test_a_rewritten_static_copy_shows_on_the_next_visit(site, site_url, page):
    write_thread(site, comment(1, "Ann Example", "The first comment."))
    page.goto(f"{site_url}{ARTICLE}/")
    page.locator(".cs-item", has_text="The first comment.").wait_for()

    # As the re-bake does after a moderator approves a second comment.
    write_thread(site, comment(1, "Ann Example", "The first comment."),
                 comment(2, "Bo Example", "Approved a moment ago."))
    page.reload()

    page.locator(".cs-item", has_text="Approved a moment ago.").wait_for()
    assert page.locator(".cs-item").count() == 2
    assert thread_requests(page) == []


def test_without_a_static_copy_the_script_asks_the_service(site_url, page):
    body = static_threads.thread_bytes(ARTICLE, [comment(7, "Cy Example", "From the API.")])
    page.route(f"**/api/articles/{ARTICLE}/comments",
               lambda route: route.fulfill(status=200, content_type="application/json",
                                           body=body))

    page.goto(f"{site_url}{ARTICLE}/")

    page.locator(".cs-item", has_text="From the API.").wait_for()
    assert len(thread_requests(page)) == 1


def test_lists_read_counts_from_the_static_file_then_the_service(site, site_url, page):
    counts = static_threads.data_dir(site) / static_threads.COUNTS_FILE
    static_threads.write_if_changed(counts, static_threads.counts_bytes({ARTICLE: 3}))
    page.goto(site_url)
    item = page.locator(f'li[data-article-id="{ARTICLE}"] .cs-list-count')
    item.wait_for()
    assert item.inner_text() == "\u00b7 3 comments"
    assert not [url for url in page.api_requests if "/api/counts" in url]

    counts.unlink()
    page.route("**/api/counts?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({ARTICLE: 5})))
    page.reload()

    page.locator(f'li[data-article-id="{ARTICLE}"] .cs-list-count',
                 has_text="5 comments").wait_for()
