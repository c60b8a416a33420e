"""A public reply to an urgent comment publishes the reader's disclosure only when confirmed."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from staff_support import (
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.cli import main as cli_main
from comments_service.store.models import CommentStatus
from comments_service.web.app import create_app

DISCLOSURE = "I have been hurting myself again and nobody knows."


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


def public_bodies(client: TestClient) -> list[str]:
    comments = client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]
    return [BeautifulSoup(c["body_html"], "html.parser").get_text() for c in comments]


def test_reply_without_confirming_publishes_nothing_and_says_why(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body=DISCLOSURE, urgent=True)
    form = BeautifulSoup(staff.client.get(f"/staff/comments/{comment_id}").text, "html.parser")
    label = form.select_one("label[for=publish-parent]")
    assert label is not None and label.get_text() == "Publish the reader's comment too"

    response = staff.post(f"/staff/comments/{comment_id}/reply",
                          {"body": "Thank you for telling us. Please reach out for help."})

    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    error = soup.select_one("#error-summary").get_text()
    assert "was not published" in error and "flagged urgent" in error
    assert soup.select_one("#publish-parent")["aria-invalid"] == "true"
    # What staff wrote is kept for the next try.
    assert "Please reach out" in soup.select_one("#reply-body").get_text()
    assert public_bodies(staff.client) == []
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING


def test_confirmed_reply_publishes_the_comment_and_the_reply(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body=DISCLOSURE, urgent=True)

    response = staff.post(f"/staff/comments/{comment_id}/reply", {
        "body": "Thank you for telling us.", "publish_parent": "yes"})

    assert response.status_code == 303
    assert public_bodies(staff.client) == [DISCLOSURE, "Thank you for telling us."]


def test_ordinary_pending_comment_needs_no_confirmation(app: FastAPI,
                                                         staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, body="A question about the article.")
    page = staff.client.get(f"/staff/comments/{comment_id}").text
    assert "publish-parent" not in page

    response = staff.post(f"/staff/comments/{comment_id}/reply", {"body": "Good question."})

    assert response.status_code == 303
    assert public_bodies(staff.client) == ["A question about the article.", "Good question."]


def test_cli_refuses_an_urgent_parent_without_publish_parent(
    app: FastAPI, staff: AuthActions, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = app.state.settings
    for name, value in {
        "COMMENTS_SECRET_KEY": settings.secret().decode(),
        "COMMENTS_VAR_DIR": str(settings.var_dir), "COMMENTS_DOCS_DIR": str(settings.docs_dir),
        "COMMENTS_SITE_URL": settings.site_url,
    }.items():
        monkeypatch.setenv(name, value)
    comment_id = add_comment(app.state.database, body=DISCLOSURE, urgent=True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("We hear you."))

    assert cli_main(["comments", "reply", str(comment_id), "--as", "mod"]) == 1
    assert "publish_parent: was not published" in capsys.readouterr().err
    assert public_bodies(staff.client) == []

    assert cli_main(["comments", "reply", str(comment_id), "--as", "mod", "--publish-parent",
                     "--body", "We hear you."]) == 0
    assert public_bodies(staff.client) == [DISCLOSURE, "We hear you."]
