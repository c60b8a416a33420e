"""The site-wide pause: CLI and admin page, posts refused, pages re-baked closed, then open."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from bs4 import BeautifulSoup
from conftest import DOCS_DIR, make_settings
from fastapi.testclient import TestClient
from service_support import CLIENT_IP, OPEN, payload, service_env, with_docs
from site_support import page_path, real_site
from sqlalchemy import inspect, select, text
from staff_support import (
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_staff,
)

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.site.rebake import Baker
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config, upgrade
from comments_service.store.models import AuditEntry, CommentStatus
from comments_service.verbs import pause, spam
from comments_service.verbs.audit import Actor
from comments_service.web.app import create_app

MESSAGE = "We are moving to a new moderation rota; comments reopen on Monday."
PAGE = "therapeutic-impasse/"


def cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, *argv: str) -> int:
    """Run comments-service in this process with the settings' COMMENTS_* environment."""
    for name, value in service_env(settings).items():
        if name.startswith("COMMENTS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["comments-service", *argv])
    return main(list(argv))


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(with_docs(settings, tmp_path))
    with TestClient(app, client=(CLIENT_IP, 50000), follow_redirects=False) as test_client:
        yield test_client


def post_json(client: TestClient, **overrides: object) -> httpx.Response:
    return client.post(f"/api/articles/{OPEN}/comments", json=payload(**overrides))


def post_form(client: TestClient, body: str = "A comment without JavaScript.") -> httpx.Response:
    token = spam.form_token(client.app.state.keyring.signing_key, OPEN, now=time.time() - 60)
    return client.post("/comments", data={
        "article_id": OPEN, "author": "Noor Reader", "email": "noor@example.org",
        "body": body, "accept_terms": "yes", "form_token": token})


def set_pause(client: TestClient, on: bool, message: str | None = None) -> None:
    pause.set_paused(client.app.state.database, Actor.operator("test"), on, [OPEN],
                     message=message)


# Refusing posts ------------------------------------------------------------------------


def test_api_post_is_refused_with_403_while_paused_and_accepted_after(
    client: TestClient,
) -> None:
    set_pause(client, True, MESSAGE)
    refused = post_json(client)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"Comments are paused on the whole site, so your comment was not sent. {MESSAGE}")
    # The routed path (a content type the fast path hands on) refuses the same way.
    routed = client.post(f"/api/articles/{OPEN}/comments", json=None,
                         content=json.dumps(payload()).encode(),
                         headers={"content-type": "application/json; charset=utf8"})
    assert routed.status_code == 403
    assert routed.json()["detail"] == refused.json()["detail"]

    set_pause(client, False)
    assert post_json(client).status_code == 202


def test_every_process_sees_the_pause_on_sqlite_and_postgresql(
    backend_settings: Settings, tmp_path: Path,
) -> None:
    settings = with_docs(backend_settings, tmp_path)
    first, second = create_app(settings), create_app(settings)
    with TestClient(first) as one, TestClient(second) as two:
        set_pause(one, True, MESSAGE)
        assert two.get("/api/status").json()["pause_message"] == MESSAGE
        assert post_json(two).status_code == 403
        set_pause(two, False)
        assert post_json(one).status_code == 202


def test_no_javascript_post_gets_a_403_page_with_the_crisis_resources(
    client: TestClient,
) -> None:
    set_pause(client, True)
    response = post_form(client)
    assert response.status_code == 403
    page = BeautifulSoup(response.text, "html5lib")
    assert "Comments are paused on the whole site" in page.select_one("#summary").get_text()
    assert page.select_one("form[method=post]") is None
    help_section = page.select_one("section.help")
    assert help_section.select_one("h2").get_text(strip=True) == "If you need help now"
    assert [a["href"] for a in help_section.select("a.cs-tel")] == ["tel:08081570192"]

    set_pause(client, False)
    assert post_form(client).status_code == 303


def test_nothing_is_stored_while_paused(client: TestClient) -> None:
    set_pause(client, True)
    post_json(client, body="Should not be stored.")
    post_form(client, body="Nor this one.")
    with client.app.state.database.read() as session:
        assert session.execute(text("SELECT count(*) FROM comments")).scalar() == 0


def test_status_tells_the_script_while_paused(client: TestClient) -> None:
    set_pause(client, True, MESSAGE)
    body = client.get("/api/status").json()
    assert body["paused"] is True and body["pause_message"] == MESSAGE
    set_pause(client, False)
    assert client.get("/api/status").json()["paused"] is False


# The command line ----------------------------------------------------------------------


def test_cli_pauses_reports_and_resumes(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(monkeypatch, settings, "pause", "status") == 0
    assert capsys.readouterr().out.strip() == "comments are open"

    assert cli(monkeypatch, settings, "pause", "on", "--message", MESSAGE) == 0
    out = capsys.readouterr().out
    assert "comments are PAUSED" in out and MESSAGE in out
    assert "article page(s) for re-baking" in out
    database = Database(settings)
    try:
        state = pause.current(database)
        assert state.paused and state.message == MESSAGE
        assert state.changed_by.startswith("cli:")
        assert cli(monkeypatch, settings, "pause", "off") == 0
        assert pause.current(database).paused is False
        with database.read() as session:
            actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["comments_paused", "comments_resumed"]
    finally:
        database.dispose()


def test_cli_names_a_bad_message(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(monkeypatch, settings, "pause", "on", "--message", "x" * 501) == 2
    assert "pause: --message: must be at most 500 characters" in capsys.readouterr().err
    assert cli(monkeypatch, settings, "pause", "off", "--message", "hi") == 2
    assert "--message: only with 'pause on'" in capsys.readouterr().err


# Re-baked pages ------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose site_dir is a fresh copy of the repository's built site."""
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    site = tmp_path / "site"
    shutil.copytree(result.site_dir, site)
    return make_settings(tmp_path, docs_dir=DOCS_DIR, site_dir=site, bake_debounce_seconds=0)


def section_of(settings: Settings) -> BeautifulSoup:
    page = BeautifulSoup(page_path(settings.site_dir, PAGE).read_text(encoding="utf-8"),
                         "html5lib")
    return page.select_one("section.cs-comments")


def test_pause_rebakes_every_page_closed_with_resources_and_comments_kept(
    monkeypatch: pytest.MonkeyPatch, built: Settings,
) -> None:
    database = Database(built)
    upgrade(database)
    try:
        add_comment(database, body="Kept while paused.", status=CommentStatus.APPROVED)
        assert cli(monkeypatch, built, "pause", "on", "--message", MESSAGE) == 0
        # The service's re-baker picks up the queued pages, as it does after moderation.
        baked = {p.article_id for p in Baker(built, database).run_once()}
        assert ARTICLE in baked and len(baked) > 1

        section = section_of(built)
        paused = section.select_one(":scope > .cs-paused")
        assert MESSAGE in paused.get_text()
        assert [a["href"] for a in paused.select("a.cs-tel")] == ["tel:08081570192"]
        # The form follows the notice, which comments.css hides; the comment stays.
        assert paused.find_next_sibling(class_="cs-form-home") is not None
        assert "Kept while paused." in section.select_one(".cs-thread").get_text()

        assert cli(monkeypatch, built, "pause", "off") == 0
        Baker(built, database).run_once()
        section = section_of(built)
        assert section.select_one(".cs-paused") is None
        assert section.select_one("form#comment-form") is not None
        assert "Kept while paused." in section.select_one(".cs-thread").get_text()
    finally:
        database.dispose()


def test_cli_bake_flag_rebakes_the_site_at_once(monkeypatch: pytest.MonkeyPatch,
                                                built: Settings) -> None:
    assert cli(monkeypatch, built, "pause", "on", "--bake") == 0
    assert section_of(built).select_one(".cs-paused") is not None
    assert cli(monkeypatch, built, "pause", "off", "--bake") == 0
    assert section_of(built).select_one(".cs-paused") is None


# The admin page ------------------------------------------------------------------------


@pytest.fixture
def staff_client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(with_docs(settings, tmp_path))
    with TestClient(app, follow_redirects=False) as test_client:
        make_staff(app.state.database, "admin", role="admin")
        make_staff(app.state.database, "mod")
        yield test_client


def test_admin_pauses_and_resumes_from_the_staff_page(staff_client: TestClient) -> None:
    auth = AuthActions(staff_client)
    assert auth.sign_in("admin").status_code == 303
    page = staff_client.get("/staff/pause")
    assert page.status_code == 200
    assert 'href="/staff/pause" aria-current="page"' in page.text
    assert "Comments are open." in page.text

    done = auth.post("/staff/pause", {"paused": "on", "message": MESSAGE})
    assert done.status_code == 303
    page = staff_client.get(done.headers["location"])
    assert "Comments are paused: every form is closed" in page.text
    assert MESSAGE in page.text and "Paused by admin" in page.text
    assert post_json(staff_client).status_code == 403

    auth.post("/staff/pause", {"paused": "off"})
    assert "Comments are open." in staff_client.get("/staff/pause").text
    assert post_json(staff_client).status_code == 202


def test_moderators_cannot_pause_and_forged_posts_change_nothing(
    staff_client: TestClient,
) -> None:
    auth = AuthActions(staff_client)
    auth.sign_in("mod")
    assert 'href="/staff/pause"' not in staff_client.get("/staff/").text
    assert staff_client.get("/staff/pause").status_code == 403
    assert auth.post("/staff/pause", {"paused": "on"}).status_code == 403
    forged = staff_client.post("/staff/pause", data={"paused": "on", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert pause.current(staff_client.app.state.database).paused is False


def test_admin_page_names_a_too_long_message(staff_client: TestClient) -> None:
    auth = AuthActions(staff_client)
    auth.sign_in("admin")
    response = auth.post("/staff/pause", {"paused": "on", "message": "x" * 501})
    assert response.status_code == 422
    assert "Message for readers: must be at most 500 characters" in response.text
    assert pause.current(staff_client.app.state.database).paused is False


# The migration -------------------------------------------------------------------------


def test_migration_downgrades_and_existing_comments_survive(settings: Settings) -> None:
    database = Database(settings)
    try:
        upgrade(database)
        comment_id = add_comment(database, body="Here before the pause table.")
        pause.set_paused(database, Actor.operator("test"), True, [])
        config = alembic_config(database)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        assert "comments_pause" not in inspect(database.engine).get_table_names()

        upgrade(database)
        assert pause.current(database).paused is False  # a fresh table starts open
        with database.read() as session:
            assert session.execute(text("SELECT body FROM comments WHERE id = :id"),
                                   {"id": comment_id}).scalar() == "Here before the pause table."
    finally:
        database.dispose()
