"""The Report control in Debian's Chromium: baked (no JavaScript) and built by the script.

One static server for the pages and one real service process: a reader follows "Report"
to the service's small page, picks a reason and sends it, with JavaScript off and on.
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
from sqlalchemy import select
from staff_support import ARTICLE, add_comment

from comments_service.site import script_messages
from comments_service.site.bake import SiteBaker
from comments_service.site.mkdocs_plugin import STATIC_DIR
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentReport, CommentStatus
from comments_service.verbs import reports

pytestmark = pytest.mark.browser

TEXT = "A published comment that one reader finds hurtful."
WAIT_MS = 10_000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Report test</title>
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


def write_page(site: Path, name: str, service: str) -> None:
    page = site / name / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(PAGE.format(article=ARTICLE, service=service,
                                catalogue=script_messages.catalogue_json("en")), encoding="utf-8")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Database]]:
    """A baked page and an unbaked one (the script fills it) of one thread."""
    base = tmp_path_factory.mktemp("reports-browser")
    site = base / "www"
    shutil.copytree(STATIC_DIR, site / "assets" / "comments")
    with served(site) as site_url:
        settings = make_settings(base, site_url=site_url, site_dir=base / "service-site")
        database = Database(settings)
        upgrade(database)
        comment_id = add_comment(database, body=TEXT, status=CommentStatus.APPROVED)
        server = Server(settings)
        try:
            scratch = base / "scratch"
            write_page(scratch, "baked", server.url)
            SiteBaker(database, scratch).bake(ARTICLE)
            shutil.move(str(scratch / "baked"), str(site / "baked"))
            write_page(site, "live", server.url)
            assert "cs-report" in (site / "baked" / "index.html").read_text(encoding="utf-8")
            assert "cs-report" not in (site / "live" / "index.html").read_text(encoding="utf-8")
            yield site_url, comment_id, database
        finally:
            server.stop()
            database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


def report_through_the_page(browser: Any, url: str, javascript: bool, comment_id: int) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto(url)
        link = page.locator(f"#comment-{comment_id} a.cs-report")
        link.wait_for()
        assert link.inner_text() == "Report"
        link.click()
        page.wait_for_url(f"**/comments/{comment_id}/report")
        assert TEXT in page.locator("#reported-comment").inner_text()
        page.get_by_label("Spam").check()
        page.get_by_label("What is wrong with it?", exact=False).fill("Advertising, twice.")
        page.get_by_role("button", name="Send report").click()
        page.locator("#summary").wait_for()
        assert page.locator("#summary").inner_text().strip() == reports.THANKS
    finally:
        context.close()


def reasons(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(CommentReport.reason).order_by(CommentReport.id)))


def test_without_javascript_the_baked_report_link_leads_to_the_form(
    browser: Any, pages: tuple[str, int, Database],
) -> None:
    site_url, comment_id, database = pages
    before = len(reasons(database))
    report_through_the_page(browser, f"{site_url}baked/", False, comment_id)
    assert reasons(database)[before:] == ["spam"]


def test_with_javascript_the_script_builds_the_same_report_link(
    browser: Any, pages: tuple[str, int, Database],
) -> None:
    site_url, comment_id, database = pages
    before = len(reasons(database))
    report_through_the_page(browser, f"{site_url}live/", True, comment_id)
    assert reasons(database)[before:] == ["spam"]
