"""Withdrawing a comment: from the signed link in the reader's mail, or by staff for them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
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
from test_bake import page_html, section
from test_notify import OPERATOR, READER, Mailbox, confirm, link_in, moderation, run

from comments_service.store.models import CommentStatus
from comments_service.web.app import create_app

TEXT = "I wrote this on a bad night and would rather it was not up any more."


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def box(mailbox: tuple[Mailbox, int]) -> Mailbox:
    return mailbox[0]


@pytest.fixture
def app(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> FastAPI:
    """The service with mail, and a built article page it re-bakes within a second."""
    settings = mail_settings(tmp_path, mailbox[1], bake_debounce_seconds=0.2)
    page = settings.site_dir / ARTICLE / "index.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(page_html(ARTICLE))
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def page_text(app: FastAPI) -> str:
    return section(app.state.settings.site_dir / ARTICLE / "index.html", ARTICLE).get_text()


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def public_ids(client: TestClient) -> list[int]:
    return [c["id"] for c in client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]]


def published_with_mail(app: FastAPI, client: TestClient, box: Mailbox) -> tuple[int, str]:
    """An approved comment whose confirmed author got the approval mail; its withdraw link."""
    comment_id = add_comment(app.state.database, body=TEXT, notify=True)
    run(app)
    confirmation = box.to(READER)[0]
    # The confirmation mail already carries this comment's link.
    assert f"token={comment_id}." in link_in(confirmation, "/mail/withdraw")
    confirm(client, confirmation)
    moderation(app).approve(comment_id, OPERATOR)
    run(app)
    approved = box.to(READER)[1]
    assert "withdraw your comment at any time" in approved.get_content()
    return comment_id, link_in(approved, "/mail/withdraw")


def test_mail_link_shows_a_button_and_the_post_removes_the_comment_everywhere(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id, link = published_with_mail(app, client, box)
    assert wait_for(lambda: TEXT in page_text(app))

    # A mail scanner following the link changes nothing.
    shown = client.get(link)
    assert shown.status_code == 200
    form = BeautifulSoup(shown.text, "html.parser").select_one("form[action='/mail/withdraw']")
    assert form.select_one("button").get_text() == "Withdraw my comment"
    assert public_ids(client) == [comment_id]

    started = time.monotonic()
    done = client.post("/mail/withdraw",
                       data={"token": form.select_one("input[name=token]")["value"]})

    assert done.status_code == 200 and "Your comment is withdrawn" in done.text
    assert public_ids(client) == []
    assert get_comment(app.state.database, comment_id).status == CommentStatus.DELETED
    assert wait_for(lambda: TEXT not in page_text(app))
    assert time.monotonic() - started < 5
    entry = moderation(app).audit(comment_id)[0][0]
    assert (entry.action, entry.actor, entry.before, entry.after) == (
        "withdraw", "reader", "approved", "deleted")
    # Pressing the button again (a second tab) says the same, and changes nothing more.
    again = client.post(link)
    assert again.status_code == 200 and "withdrawn" in again.text
    assert len(moderation(app).audit(comment_id)[0]) == 2


def test_a_tampered_link_is_refused_and_changes_nothing(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id, link = published_with_mail(app, client, box)
    other = add_comment(app.state.database, body="Another reader's comment.",
                        status=CommentStatus.APPROVED, email="other.reader@example.org")
    token = parse_qs(urlsplit(link).query)["token"][0]
    number, _, signature = token.partition(".")
    tampered = [
        f"{number}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",  # bad signature
        f"{other}.{signature}",  # someone else's comment with this signature
        number,  # no signature at all
        "",
    ]
    for bad in tampered:
        shown = client.get("/mail/withdraw", params={"token": bad})
        assert shown.status_code == 400 and "This link is not valid" in shown.text
        assert client.post("/mail/withdraw", data={"token": bad}).status_code == 400
    assert sorted(public_ids(client)) == sorted([comment_id, other])


def test_outcome_mail_carries_a_working_withdraw_link(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, body=TEXT, notify=True)
    run(app)
    confirm(client, box.to(READER)[0])
    moderation(app).reject(comment_id, OPERATOR)
    run(app)
    link = link_in(box.to(READER)[1], "/mail/withdraw")

    assert client.post(link).status_code == 200
    assert get_comment(app.state.database, comment_id).status == CommentStatus.DELETED


def test_staff_withdraw_at_the_readers_request(app: FastAPI, client: TestClient) -> None:
    comment_id = add_comment(app.state.database, body=TEXT, notified=True)
    moderation(app).approve(comment_id, OPERATOR)
    assert wait_for(lambda: TEXT in page_text(app))
    make_staff(app.state.database, "mod")
    staff = AuthActions(client)
    staff.sign_in()
    page = BeautifulSoup(client.get(f"/staff/comments/{comment_id}").text, "html.parser")
    button = page.select_one(f"form[action='/staff/comments/{comment_id}/withdraw'] button")
    assert button.get_text() == "Withdraw at the reader's request"

    response = staff.post(f"/staff/comments/{comment_id}/withdraw")

    assert response.status_code == 303
    notice = BeautifulSoup(client.get(response.headers["location"]).text, "html.parser")
    assert "withdrawn at the reader's request" in notice.get_text()
    assert public_ids(client) == []
    assert wait_for(lambda: TEXT not in page_text(app))
    entry = moderation(app).audit(comment_id)[0][0]
    assert (entry.action, entry.actor, entry.after) == ("withdraw", "mod", "deleted")
