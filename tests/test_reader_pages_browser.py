"""The no-JavaScript reply page in Debian's Chromium: the site's look, and no axe violations.

One real service process. A reader opens a comment's reply page, sends the form at once,
and is told to wait a few seconds; the page's stylesheet really applies under its
Content-Security-Policy (a blocked stylesheet would leave the browser's defaults). The page
has no script at all (its policy allows none), so JavaScript stays on: axe needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import axe_violations, launched_chromium, require_axe
from conftest import make_settings
from service_support import Server
from staff_support import ARTICLE, add_comment

from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentStatus

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
INDIGO = "rgb(64, 81, 181)"


@pytest.fixture(scope="module")
def reply_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("reader-pages-browser")
    # Long enough that a send straight after the page loads is always "too quick".
    settings = make_settings(base, min_submit_seconds=60)
    database = Database(settings)
    upgrade(database)
    comment_id = add_comment(database, body="A kind word.", status=CommentStatus.APPROVED)
    database.dispose()
    server = Server(settings)
    try:
        yield f"{server.url}/comments/{ARTICLE}/reply/{comment_id}"
    finally:
        server.stop()


@pytest.fixture
def page(reply_url: str) -> Iterator[Any]:
    with launched_chromium() as chromium:
        context = chromium.new_context()
        context.set_default_timeout(WAIT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


def test_reply_page_uses_the_site_stylesheet_and_passes_axe(page: Any, reply_url: str) -> None:
    require_axe()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text
            else None)
    page.goto(reply_url)

    header = page.locator("header.reader-header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == INDIGO
    assert "apple-system" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.locator("footer a", has_text="Terms of use").count() == 1
    assert blocked == []
    assert axe_violations(page) == []


def test_sending_at_once_explains_the_wait(page: Any, reply_url: str) -> None:
    page.goto(reply_url)
    page.fill("#field-author", "Noor")
    page.fill("#field-email", "noor@example.org")
    page.fill("#field-body", "Sent straight away.")
    page.check("#field-accept_terms")
    page.click("button[type=submit]")

    summary = page.locator("#summary")
    assert "Please wait a few seconds and send again" in summary.inner_text()
    assert page.input_value("#field-body") == "Sent straight away."
    require_axe()
    assert axe_violations(page) == []
