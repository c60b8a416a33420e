"""Closing threads: by age after an article's last update, and the site-wide read-only switch."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from conftest import DOCS_DIR, make_settings
from fastapi.testclient import TestClient
from service_support import CLIENT_IP, OPEN, payload, with_docs
from site_support import page_path, real_site
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.config import Settings
from comments_service.site.bake import SiteBaker
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentStatus
from comments_service.verbs import spam
from comments_service.web.app import create_app

# The real docs' article, last updated 2015-08-28: long past any closing period below.
PAGE = "therapeutic-impasse/"
# The test docs' articles were last updated on 2026-11-01, and the test runs later.
LONG_AGO_DAYS = 10
NEVER_DAYS = 36500


@pytest.fixture
def make_client(settings: Settings, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        app = create_app(with_docs(settings, tmp_path, **overrides))
        client = TestClient(app, client=(CLIENT_IP, 50000), follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def post_json(client: TestClient, **overrides: object) -> httpx.Response:
    return client.post(f"/api/articles/{OPEN}/comments", json=payload(**overrides))


def post_form(client: TestClient) -> httpx.Response:
    token = spam.form_token(client.app.state.keyring.signing_key, OPEN, now=time.time() - 60)
    return client.post("/comments", data={
        "article_id": OPEN, "author": "Noor Reader", "email": "noor@example.org",
        "body": "A comment without JavaScript.", "accept_terms": "yes", "form_token": token})


def test_an_article_closes_on_the_api_some_days_after_its_last_update(make_client) -> None:  # type: ignore[no-untyped-def]
    closed = make_client(close_after_days=LONG_AGO_DAYS)
    refused = post_json(closed)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Comments on this article closed on 11 November 2026, 10 days after it was last "
        "updated.")
    # Existing comments can still be read.
    assert closed.get(f"/api/articles/{OPEN}/comments").status_code == 200

    still_open = make_client(close_after_days=NEVER_DAYS)
    assert post_json(still_open).status_code == 202


def test_closing_by_age_is_off_by_default(make_client) -> None:  # type: ignore[no-untyped-def]
    assert post_json(make_client()).status_code == 202


def test_the_no_javascript_form_gets_a_closed_page_without_a_form(make_client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(make_client(close_after_days=LONG_AGO_DAYS))
    assert response.status_code == 403
    page = BeautifulSoup(response.text, "html5lib")
    assert "closed on 11 November 2026" in page.select_one("#summary").get_text()
    assert page.select_one("form[method=post]") is None


def test_read_only_refuses_every_post_with_a_neutral_message(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(read_only=True)
    refused = post_json(client)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Comments are closed on the whole site for now, so your comment was not sent.")
    form = post_form(client)
    assert form.status_code == 403
    page = BeautifulSoup(form.text, "html5lib")
    # Neutral: no crisis resources section as the pause shows.
    assert page.select_one("section.help") is None
    assert "closed on the whole site" in page.select_one("#summary").get_text()


def test_staff_can_still_moderate_while_read_only(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(read_only=True)
    database = client.app.state.database
    comment_id = add_comment(database, article_id=OPEN)
    make_staff(database)
    auth = AuthActions(client)
    assert auth.sign_in().status_code == 303
    answer = auth.post("/staff/actions", {"action": f"approve:{comment_id}", "back": "/staff/"})
    assert answer.status_code == 303
    assert get_comment(database, comment_id).status == CommentStatus.APPROVED
    thread = client.get(f"/api/articles/{OPEN}/comments").json()
    assert [c["id"] for c in thread["comments"]] == [comment_id]


# Baked pages -----------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the repository's built site."""
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    site = tmp_path / "site"
    shutil.copytree(result.site_dir, site)
    return site


def baked_section(tmp_path: Path, site: Path, **overrides: object) -> BeautifulSoup:
    settings = make_settings(tmp_path, docs_dir=DOCS_DIR, site_dir=site, **overrides)
    database = Database(settings)
    upgrade(database)
    try:
        SiteBaker(database, site).bake()
    finally:
        database.dispose()
    page = BeautifulSoup(page_path(site, PAGE).read_text(encoding="utf-8"), "html5lib")
    return page.select_one("section.cs-comments")


@pytest.mark.parametrize(("overrides", "notice"), [
    ({"close_after_days": 30}, "Comments are closed."),
    ({"read_only": True}, "Comments are closed on the whole site for now."),
])
def test_a_baked_page_shows_the_closed_notice_where_the_form_was(
    tmp_path: Path, built: Path, overrides: dict[str, object], notice: str,
) -> None:
    section = baked_section(tmp_path, built, **overrides)
    shut = section.select_one(":scope > .cs-shut")
    assert shut is not None and shut.get_text().startswith(notice)
    # comments.css hides the form that follows the notice (`.cs-shut ~ .cs-form-home`).
    assert shut.find_next_sibling(class_="cs-form-home") is not None
    assert section.select_one(".cs-paused") is None

    reopened = baked_section(tmp_path, built, close_after_days=NEVER_DAYS)
    assert reopened.select_one(".cs-shut") is None
    assert reopened.select_one("form#comment-form") is not None


def test_the_stylesheet_hides_the_form_after_the_notice() -> None:
    css = (Path(__file__).resolve().parent.parent / "comments_service/site/static/comments.css"
           ).read_text(encoding="utf-8")
    assert ".md-typeset .cs-shut ~ .cs-form-home" in css
