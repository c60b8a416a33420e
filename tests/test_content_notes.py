"""Content notes: staff fold a comment's text behind a short note, baked and in the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from bs4 import BeautifulSoup, Tag
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from staff_support import (
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)
from test_bake import page_html, section

from comments_service.config import Settings
from comments_service.site.rebake import Baker
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config, upgrade
from comments_service.store.models import CommentStatus
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app

NOTE = "mentions self-harm"
TEXT = "Last winter I hurt myself, and this article helped me tell my GP."


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path))


@pytest.fixture
def staff(app: FastAPI) -> Iterator[AuthActions]:
    with TestClient(app, follow_redirects=False) as client:
        make_staff(app.state.database, "mod")
        auth = AuthActions(client)
        assert auth.sign_in().status_code == 303
        yield auth


def baked_page(settings: Settings) -> Path:
    page = settings.site_dir / ARTICLE / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_bytes(page_html(ARTICLE))
    return page


def test_note_folds_the_text_in_the_baked_page_and_shows_in_the_api(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body=TEXT, status=CommentStatus.APPROVED)
    page = baked_page(app.state.settings)
    baker = Baker(app.state.settings.model_copy(update={"bake_debounce_seconds": 0.0}),
                  app.state.database)

    response = staff.post(f"/staff/comments/{comment_id}/content-note",
                          {"content_note": f"  {NOTE} "})

    assert response.status_code == 303
    (shown,) = staff.client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]
    assert shown["content_note"] == NOTE

    def folded() -> Tag | None:
        # The note queued a re-bake; run the baker as the service does (the service's own,
        # running in the background, may take the request first: either one bakes it).
        baker.run_once()
        return section(page, ARTICLE).select_one(f"#comment-{comment_id} details.cs-note")

    deadline = time.monotonic() + 10
    while (details := folded()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert details is not None and not details.has_attr("open")
    assert details.select_one("summary").get_text() == f"Content note: {NOTE}"
    assert TEXT in details.select_one(".cs-body").get_text()
    entry = Moderation(app.state.database, app.state.keyring).audit(comment_id)[0][0]
    assert (entry.action, entry.actor, entry.before, entry.after) == (
        "content_note", "mod", "", NOTE)


def test_clearing_the_note_unfolds_the_text(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, body=TEXT, status=CommentStatus.APPROVED)
    moderation = Moderation(app.state.database, app.state.keyring)
    moderation.set_content_note(comment_id, NOTE, Actor.operator("test"))

    staff.post(f"/staff/comments/{comment_id}/content-note", {"content_note": ""})

    (shown,) = staff.client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]
    assert shown["content_note"] is None
    page = baked_page(app.state.settings)
    Baker(app.state.settings, app.state.database).bake_all()
    assert section(page, ARTICLE).select_one("details") is None
    assert TEXT in section(page, ARTICLE).get_text()


def test_a_note_over_80_characters_is_refused_naming_the_field(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, status=CommentStatus.APPROVED)
    too_long = "x" * 81

    response = staff.post(f"/staff/comments/{comment_id}/content-note",
                          {"content_note": too_long})

    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert "Content note must be at most 80 characters" in soup.select_one(
        "#error-summary").get_text()
    assert soup.select_one("#content-note")["value"] == too_long
    assert get_comment(app.state.database, comment_id).content_note == ""


def test_a_note_on_a_rejected_comment_is_refused(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, status=CommentStatus.REJECTED)
    response = staff.post(f"/staff/comments/{comment_id}/content-note", {"content_note": NOTE})
    assert response.status_code == 422
    assert "only approved or pending comments" in response.text


def test_migration_keeps_existing_comments_and_downgrades(settings: Settings) -> None:
    database = Database(settings)
    try:
        upgrade(database)
        comment_id = add_comment(database, body=TEXT, status=CommentStatus.APPROVED)
        config = alembic_config(database)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            # Below 0006: the merge and everything after it depend on it, so they go too.
            command.downgrade(config, "0003")
        with database.engine.connect() as connection:
            columns = [row[1] for row in connection.execute(text("PRAGMA table_info(comments)"))]
            assert "content_note" not in columns
            assert connection.execute(text("SELECT body FROM comments")).scalar() == TEXT

        upgrade(database)

        assert get_comment(database, comment_id).content_note == ""
        assert get_comment(database, comment_id).body == TEXT
    finally:
        database.dispose()


def test_note_then_withdrawal_on_sqlite_and_postgresql(backend_settings: Settings) -> None:
    app = create_app(backend_settings)
    with TestClient(app) as client:
        comment_id = add_comment(app.state.database, body=TEXT, status=CommentStatus.APPROVED)
        moderation = Moderation(app.state.database, app.state.keyring)
        url = f"/api/articles/{ARTICLE}/comments"
        assert client.get(url).json()["comments"][0]["content_note"] is None

        moderation.set_content_note(comment_id, NOTE, Actor.operator("test"))
        assert client.get(url).json()["comments"][0]["content_note"] == NOTE

        moderation.withdraw_for_reader(comment_id, Actor.operator("test"))
        assert client.get(url).json()["comments"] == []
