"""Replying privately: staff answer a comment by mail to its author, publishing nothing."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import DOCS_DIR, TEST_SECRET, make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mail_support import mail_settings, smtp_server
from staff_support import (
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)
from test_notify import Mailbox, link_in, moderation, run

from comments_service.cli import main as cli_main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import CommentStatus
from comments_service.verbs import outbox
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Moderation, ModerationError
from comments_service.verbs.notifications import make_token
from comments_service.web.app import create_app

READER = "noor.private@example.org"
DISCLOSURE = "Some nights I think everyone would be better off without me."


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def box(mailbox: tuple[Mailbox, int]) -> Mailbox:
    return mailbox[0]


@pytest.fixture
def app(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> FastAPI:
    return create_app(mail_settings(tmp_path, mailbox[1]))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(app: FastAPI, client: TestClient) -> AuthActions:
    make_staff(app.state.database, "mod", display_name="Sam from the editorial team",
               signature="Sam, for the editorial team")
    auth = AuthActions(client)
    assert auth.sign_in().status_code == 303
    return auth


def page(staff: AuthActions, comment_id: int, **params: str) -> BeautifulSoup:
    response = staff.client.get(f"/staff/comments/{comment_id}", params=params)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def public_thread(client: TestClient) -> dict:  # type: ignore[type-arg]
    return client.get(f"/api/articles/{ARTICLE}/comments").json()


def test_private_reply_mails_the_edited_crisis_template_and_publishes_nothing(
    app: FastAPI, staff: AuthActions, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, body=DISCLOSURE, author="Noor",
                             email=READER, urgent=True, notified=True)
    crisis = next(o for o in page(staff, comment_id).select("#private-template option")
                  if "crisis" in o.get_text())

    # "Use template" puts the template in the private reply's box, ready to edit.
    template_text = page(staff, comment_id, private_template=crisis["value"]).select_one(
        "#private-body").get_text()
    assert "local emergency number" in template_text
    edited = template_text.strip() + "\n\nNoor, we read your words tonight and we are glad " \
                                     "you wrote."
    response = staff.post(f"/staff/comments/{comment_id}/private-reply", {"body": edited})
    assert response.status_code == 303
    notice = staff.client.get(response.headers["location"]).text
    assert "Nothing was published" in notice

    assert run(app).sent == 1
    (mail,) = box.to(READER)
    text = mail.get_content()
    assert "we are glad you wrote" in text and "local emergency number" in text
    assert "Sam, for the editorial team" in text
    assert "it is not shown on the site" in text

    # Still unpublished, and nowhere public.
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert public_thread(staff.client)["comments"] == []
    (entry,) = [e for e in moderation(app).audit(comment_id)[0]
                if e.action == "private_reply"]
    assert entry.actor == "mod" and "we are glad you wrote" in entry.after
    assert READER not in entry.before + entry.after
    withdraw_page = staff.client.get(link_in(mail, "/mail/withdraw"))
    for public in (withdraw_page.text, staff.client.get(f"/api/articles/{ARTICLE}/comments").text):
        assert READER not in public and "noor.private" not in public


def test_private_reply_template_does_not_touch_the_public_reply_box(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, email=READER)
    option = page(staff, comment_id).select("#private-template option")[0]
    soup = page(staff, comment_id, private_template=option["value"])
    assert soup.select_one("#private-body").get_text().strip()
    assert soup.select_one("#reply-body").get_text() == ""


def test_a_comment_without_an_email_cannot_be_answered_privately(
    app: FastAPI, staff: AuthActions, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, email="")
    assert page(staff, comment_id).select_one("#private-body") is None

    response = staff.post(f"/staff/comments/{comment_id}/private-reply", {"body": "Hello"})

    assert response.status_code == 422
    assert "has no email address" in response.text
    run(app)
    assert box.to(READER) == []


def test_a_blank_private_reply_is_refused_and_sends_nothing(
    app: FastAPI, staff: AuthActions, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, email=READER)
    response = staff.post(f"/staff/comments/{comment_id}/private-reply", {"body": "  \n "})
    assert response.status_code == 422
    assert "Private reply must not be blank" in response.text
    run(app)
    assert box.to(READER) == []


def test_cli_replies_privately(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               mailbox: tuple[Mailbox, int]) -> None:
    for name, value in {
        "COMMENTS_SECRET_KEY": TEST_SECRET, "COMMENTS_VAR_DIR": str(tmp_path / "var"),
        "COMMENTS_DOCS_DIR": str(DOCS_DIR), "COMMENTS_SITE_URL": "http://testserver/",
        "COMMENTS_SMTP_HOST": "127.0.0.1", "COMMENTS_SMTP_PORT": str(mailbox[1]),
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    database = Database(settings)
    try:
        from comments_service.store.migrate import upgrade

        upgrade(database)
        make_staff(database, "mod")
        comment_id = add_comment(database, body=DISCLOSURE, email=READER, urgent=True)
        monkeypatch.setattr(sys, "stdin", io.StringIO("We are here for you, Reader One."))

        assert cli_main(["comments", "reply", str(comment_id), "--private", "--as", "mod"]) == 0

        assert outbox.send_due(database, Keyring(settings.secret())).sent == 1
        (mail,) = mailbox[0].to(READER)
        assert "We are here for you, Reader One." in mail.get_content()
        assert get_comment(database, comment_id).status == CommentStatus.PENDING
    finally:
        database.dispose()


def test_nothing_is_queued_when_the_author_unsubscribed(
    app: FastAPI, client: TestClient, staff: AuthActions, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, email=READER, notified=True)
    token = make_token(app.state.keyring, "unsubscribe", app.state.keyring.email_hash(READER))
    assert client.post(f"/mail/unsubscribe?token={token}").status_code == 200

    response = staff.post(f"/staff/comments/{comment_id}/private-reply", {"body": "Hello"})

    assert response.status_code == 422
    assert "asked for no mail from us" in response.text
    # What staff wrote stays in the box.
    kept = BeautifulSoup(response.text, "html.parser").select_one("#private-body").get_text()
    assert kept == "Hello"
    run(app)
    assert box.to(READER) == []


def test_without_a_mail_server_a_private_reply_is_refused_saying_why(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    database = app.state.database
    with TestClient(app):
        user = make_staff(database, "mod")
        comment_id = add_comment(database, email=READER)
        with pytest.raises(ModerationError) as refused:
            Moderation(database, app.state.keyring).reply_privately(comment_id, user.id, "Hi")
    assert refused.value.field == "mail"
    assert "COMMENTS_SMTP_HOST" in str(refused.value)
