"""Undo after approve, reject, spam and delete, over real HTTP: allowed for a short while,
only for the last action on a comment, with CSRF, and audited as "undo"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from staff_support import (
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.store.models import AuditEntry, CommentStatus, utcnow
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path, notify_interval_seconds=0,
                                    site_url="http://articles.example.org/"))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(app: FastAPI, client: TestClient) -> AuthActions:
    make_staff(app.state.database, "mod")
    auth = AuthActions(client)
    auth.sign_in()
    return auth


def act(staff: AuthActions, action: str, comment_id: int) -> BeautifulSoup:
    """Press a row's button; the page the redirect lands on."""
    response = staff.post("/staff/actions", {"action": f"{action}:{comment_id}",
                                             "back": "/staff/"})
    assert response.status_code == 303
    return BeautifulSoup(staff.client.get(response.headers["location"]).text, "html.parser")


def press_undo(staff: AuthActions, page: BeautifulSoup) -> BeautifulSoup:
    form = page.select_one('form[action="/staff/undo"]')
    assert form is not None, "the notice offers no Undo"
    fields: dict[str, list[str]] = {}
    for field in form.select("input[type=hidden]"):
        fields.setdefault(field["name"], []).append(field["value"])
    response = staff.client.post("/staff/undo", data=fields)
    assert response.status_code == 303
    return BeautifulSoup(staff.client.get(response.headers["location"]).text, "html.parser")


def audit_actions(app: FastAPI, comment_id: int) -> list[str]:
    with app.state.database.read() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.comment_id == comment_id).order_by(AuditEntry.id)))


def public_bodies(client: TestClient) -> list[str]:
    return [c["body_html"] for c in
            client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]]


@pytest.mark.parametrize("action", ["approve", "reject", "spam", "delete"])
def test_undo_puts_the_comment_back_in_the_queue_and_is_audited(
    app: FastAPI, staff: AuthActions, action: str,
) -> None:
    comment_id = add_comment(app.state.database, body="Please take another look.")
    page = act(staff, action, comment_id)
    assert f"#row-{comment_id}" not in str(page)
    after = press_undo(staff, page)
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert audit_actions(app, comment_id) == [action, "undo"]
    assert after.select_one(".notice").get_text(strip=True) == "Undone: 1 comment back as before."
    assert after.select_one(f"#row-{comment_id}") is not None
    assert public_bodies(staff.client) == []


def test_after_approving_the_notice_links_to_the_comment_on_the_site(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database)
    page = act(staff, "approve", comment_id)
    link = page.find("a", string="View on site")
    assert link["href"] == f"http://articles.example.org/therapeutic-impasse/#comment-{comment_id}"
    assert public_bodies(staff.client) != []


def test_undo_is_refused_once_someone_else_has_acted(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    comment_id = add_comment(database)
    page = act(staff, "approve", comment_id)
    Moderation(database, app.state.keyring).reject(comment_id, Actor.operator("colleague"))
    after = press_undo(staff, page)
    assert get_comment(database, comment_id).status == CommentStatus.REJECTED
    assert "someone has acted on that comment since" in after.select_one(".notice").get_text()
    assert audit_actions(app, comment_id) == ["approve", "reject"]


def test_undo_is_refused_after_ten_minutes(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    comment_id = add_comment(database)
    page = act(staff, "spam", comment_id)
    with database.write() as session:
        session.execute(update(AuditEntry).where(AuditEntry.comment_id == comment_id)
                        .values(created_at=utcnow() - timedelta(minutes=11)))
    after = press_undo(staff, page)
    assert get_comment(database, comment_id).status == CommentStatus.SPAM
    assert "the time to undo it has passed" in after.select_one(".notice").get_text()


def test_undo_without_the_csrf_token_changes_nothing(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database)
    act(staff, "delete", comment_id)
    response = staff.client.post("/staff/undo", data={"ids": str(comment_id)})
    assert response.status_code == 403
    assert get_comment(app.state.database, comment_id).status == CommentStatus.DELETED


def test_undo_of_a_bulk_action_restores_each_comment(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    chosen = [add_comment(database, body=f"Bulk {n}.") for n in range(3)]
    response = staff.post("/staff/actions", {"action": "reject", "ids": chosen,
                                             "back": "/staff/"})
    page = BeautifulSoup(staff.client.get(response.headers["location"]).text, "html.parser")
    after = press_undo(staff, page)
    assert [get_comment(database, i).status for i in chosen] == [CommentStatus.PENDING] * 3
    assert after.select_one(".notice").get_text(strip=True) == "Undone: 3 comments back as before."


def test_undo_of_an_approval_takes_the_comment_off_the_public_thread(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body="Shown, then not.")
    page = act(staff, "approve", comment_id)
    assert public_bodies(staff.client) == ["<p>Shown, then not.</p>"]
    press_undo(staff, page)
    assert public_bodies(staff.client) == []


def test_undoing_a_rejection_withdraws_the_note_not_yet_sent(tmp_path: Path) -> None:
    from mail_support import mail_settings, smtp_server
    from test_notify import READER, confirm, run

    with smtp_server() as (box, port):
        app = create_app(mail_settings(tmp_path, port))
        with TestClient(app, follow_redirects=False) as client:
            comment_id = add_comment(app.state.database, notify=True, email=READER)
            run(app)
            confirm(client, box.to(READER)[0])
            make_staff(app.state.database, "mod")
            staff = AuthActions(client)
            staff.sign_in()
            page = act(staff, "reject", comment_id)
            press_undo(staff, page)
            run(app)
            # Only the address confirmation ever reached the reader: no rejection note.
            assert len(box.to(READER)) == 1
            assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
