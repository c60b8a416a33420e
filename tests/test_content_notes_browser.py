"""Content notes in Debian's Chromium: the note folds the comment's text, with JS on and off.

One static server for the pages and one real service process; the pages are written by
the baker (and one left unbaked, for the script to fill), so what is checked is the markup
readers get either way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import launched_chromium
from conftest import make_settings
from service_support import Server
from site_support import served
from staff_support import ARTICLE, add_comment

from comments_service.site import script_messages
from comments_service.site.bake import SiteBaker
from comments_service.site.mkdocs_plugin import STATIC_DIR
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentStatus
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation

pytestmark = pytest.mark.browser

NOTE = "mentions self-harm"
TEXT = "There were weeks when I cut myself, and reading this helped me ask for help."
WAIT_MS = 10_000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Content note test</title>
<link rel="stylesheet" href="/assets/comments/comments.css"></head>
<body><main class="md-typeset">
<section class="cs-comments" id="comments" data-article-id="{article}" data-state="closed"
         data-service="{service}">
<h2>Comments</h2>
<!-- comments:begin article="{article}" -->
<p class="cs-count" data-count="">Loading comments…</p>
<div class="cs-thread"></div>
<!-- comments:end article="{article}" -->
</section>
<script type="application/json" id="comments-i18n">{catalogue}</script>
<script src="/assets/comments/comments.js" defer></script>
</main></body></html>
"""


def write_page(site: Path, name: str, service: str) -> Path:
    page = site / name / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(PAGE.format(article=ARTICLE, service=service,
                                catalogue=script_messages.catalogue_json("en")), encoding="utf-8")
    return page


def bake_into(database: Database, site: Path, name: str, service: str) -> None:
    # Each page is baked on its own, so later pages keep the thread as it was then.
    scratch = site.parent / f"bake-{name}"
    write_page(scratch, name, service)
    SiteBaker(database, scratch).bake(ARTICLE)
    shutil.move(str(scratch / name), str(site / name))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """Three pages of one thread (stale bake, fresh bake, unbaked) and the comment's id."""
    base = tmp_path_factory.mktemp("content-notes")
    site = base / "www"
    shutil.copytree(STATIC_DIR, site / "assets" / "comments")
    with served(site) as site_url:
        # The service's own site folder stays empty: its re-baker must not touch these pages.
        settings = make_settings(base, site_url=site_url, site_dir=base / "service-site")
        database = Database(settings)
        upgrade(database)
        comment_id = add_comment(database, body=TEXT, status=CommentStatus.APPROVED)
        server = Server(settings)
        try:
            bake_into(database, site, "stale", server.url)  # before the note was set
            Moderation(database, Keyring(settings.secret())).set_content_note(
                comment_id, NOTE, Actor.operator("test"))
            bake_into(database, site, "fresh", server.url)
            write_page(site, "live", server.url)
            # What each page holds before any script runs.
            assert "cs-note" not in (site / "stale" / "index.html").read_text(encoding="utf-8")
            assert "cs-note" in (site / "fresh" / "index.html").read_text(encoding="utf-8")
            assert TEXT not in (site / "live" / "index.html").read_text(encoding="utf-8")
            yield site_url, comment_id
        finally:
            server.stop()
            database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


def open_page(browser: Any, url: str, javascript: bool) -> Any:
    context = browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    return page


def assert_folded_then_opened(page: Any, comment_id: int) -> None:
    comment = page.locator(f"#comment-{comment_id}")
    summary = comment.locator("details.cs-note > summary")
    summary.wait_for()
    assert summary.inner_text().strip() == f"Content note: {NOTE}"
    body = comment.locator(".cs-body")
    assert not body.is_visible()
    summary.click()
    body.wait_for(state="visible")
    assert TEXT in body.inner_text()


def test_without_javascript_the_baked_note_folds_the_text(browser: Any,
                                                          pages: tuple[str, int]) -> None:
    site_url, comment_id = pages
    page = open_page(browser, f"{site_url}fresh/", javascript=False)
    try:
        assert_folded_then_opened(page, comment_id)
    finally:
        page.context.close()


@pytest.mark.parametrize("name", ["live", "stale"])
def test_with_javascript_the_script_folds_the_text_too(browser: Any, pages: tuple[str, int],
                                                       name: str) -> None:
    # "live": the script builds the thread; "stale": baked before the note, which the
    # script must add when the thread it loads says so.
    site_url, comment_id = pages
    page = open_page(browser, f"{site_url}{name}/", javascript=True)
    try:
        page.locator(".cs-count[data-count='1']").wait_for()
        assert_folded_then_opened(page, comment_id)
    finally:
        page.context.close()
