"""The page script in Spanish in Debian's Chromium: its sentences, plurals and dates come from
the page's #comments-i18n block and Intl, and a reader's name cannot reorder the date.

One static server for a baked and an unbaked page (Spanish, as the MkDocs partial writes
them) and one real service process answering the script.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
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

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
# U+202E (right-to-left override) in a name: unisolated, it would run on into the date.
TRICK_NAME = "\u202eKim"
POSTED = datetime(2026, 3, 5, 17, 4)  # 18:04 in Madrid

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Prueba</title>
<link rel="stylesheet" href="/assets/comments/comments.css"></head>
<body><main class="md-typeset">
<section class="cs-comments" id="comments" data-article-id="{article}" data-state="closed"
         data-service="{service}">
<h2>Comentarios</h2>
<p class="cs-live cs-sr" aria-live="polite"></p>
<!-- comments:begin article="{article}" -->
<p class="cs-count" data-count="">Cargando comentarios…</p>
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
                                catalogue=script_messages.catalogue_json("es")),
                    encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("translations-browser")
    site = base / "www"
    shutil.copytree(STATIC_DIR, site / "assets" / "comments")
    with served(site) as url:
        settings = make_settings(base, site_url=url, site_dir=base / "service-site",
                                 language="es")
        database = Database(settings)
        upgrade(database)
        add_comment(database, author=TRICK_NAME, body="Me sentí comprendida.",
                    status=CommentStatus.APPROVED, created_at=POSTED)
        add_comment(database, author="Lucía", body="Gracias por escribirlo.",
                    status=CommentStatus.APPROVED, created_at=POSTED.replace(minute=30))
        server = Server(settings)
        try:
            scratch = base / "bake"
            write_page(scratch, "baked", server.url)
            SiteBaker(database, scratch).bake(ARTICLE)
            shutil.move(str(scratch / "baked"), str(site / "baked"))
            write_page(site, "live", server.url)
            assert "5 de marzo de 2026, 17:04 UTC" in (site / "baked" / "index.html").read_text(
                encoding="utf-8")
            yield url
        finally:
            server.stop()
            database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


def open_page(browser: Any, url: str) -> Any:
    context = browser.new_context(locale="es-ES", timezone_id="Europe/Madrid")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("document.querySelector('.cs-count').dataset.count === '2'")
    return page


@pytest.mark.parametrize("name", ["live", "baked"])
def test_the_script_speaks_spanish_and_shows_local_dates(browser: Any, site_url: str,
                                                         name: str) -> None:
    page = open_page(browser, f"{site_url}{name}/")
    try:
        assert page.locator(".cs-count").inner_text() == "2 comentarios"
        first = page.locator("li.cs-item").first
        assert first.locator(".cs-report").inner_text() == "Denunciar"
        assert first.locator(".cs-reply").text_content().startswith("Responder a ")
        stamp = first.locator("time")
        assert stamp.get_attribute("datetime") == "2026-03-05T17:04:00Z"
        # The reader's own zone (Madrid, UTC+1 in March) and Spanish month names.
        page.wait_for_function(
            "!document.querySelector('li.cs-item time').textContent.includes('UTC')")
        shown = stamp.inner_text()
        assert "marzo" in shown and "2026" in shown and "18:04" in shown, shown
    finally:
        page.context.close()


def test_a_right_to_left_override_in_a_name_does_not_flip_the_date(browser: Any,
                                                                   site_url: str) -> None:
    page = open_page(browser, f"{site_url}live/")
    try:
        item = page.locator("li.cs-item").first
        assert item.locator(".cs-author").evaluate("e => e.tagName") == "BDI"
        # Where the date's first and last characters are drawn: left to right, as written,
        # and the whole date to the right of the name.
        boxes = item.locator("time").evaluate("""time => {
            const text = time.firstChild, range = document.createRange();
            const at = i => { range.setStart(text, i); range.setEnd(text, i + 1);
                              return range.getBoundingClientRect().left; };
            return { first: at(0), last: at(text.length - 1),
                     author: time.closest('header').querySelector('.cs-author')
                       .getBoundingClientRect().right,
                     time: time.getBoundingClientRect().left };
        }""")
        assert boxes["first"] < boxes["last"], boxes
        assert boxes["author"] <= boxes["time"], boxes
    finally:
        page.context.close()
