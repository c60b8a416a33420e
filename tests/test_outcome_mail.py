"""The outcome mail: a reader who asked for mail hears, kindly, that a comment is not published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mail_support import mail_settings, smtp_server
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)
from test_notify import OPERATOR, READER, Mailbox, confirm, moderation, run

from comments_service.store.models import CommentStatus
from comments_service.verbs.outcome_mail import REJECTION_REASONS
from comments_service.web.app import create_app

REASON = "personal_details"


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


def confirmed_comment(app: FastAPI, client: TestClient, box: Mailbox, **extra: object) -> int:
    """A pending comment whose author asked for mail and confirmed the address."""
    comment_id = add_comment(app.state.database, notify=True, **extra)  # type: ignore[arg-type]
    run(app)
    confirm(client, box.to(READER)[0])
    return comment_id


def resource_names(app: FastAPI) -> list[str]:
    try:
        from comments_service.verbs import crisis_resources
    except ImportError:
        return []
    return [r.name for r in crisis_resources.resources_for(app.state.settings)]


def test_rejection_with_a_reason_mails_a_kind_note_with_support(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id = confirmed_comment(app, client, box, author="Robin Reader")
    make_staff(app.state.database, "mod")
    staff = AuthActions(client)
    staff.sign_in()
    page = BeautifulSoup(client.get(f"/staff/comments/{comment_id}").text, "html.parser")
    choices = [o["value"] for o in page.select("#reject-reason option")]
    assert choices == ["", *REJECTION_REASONS]

    response = staff.post(f"/staff/comments/{comment_id}/reject", {"reason": REASON})

    assert response.status_code == 303
    assert get_comment(app.state.database, comment_id).status == CommentStatus.REJECTED
    run(app)
    (note,) = box.to(READER)[1:]
    assert note["Subject"] == "About your comment on Therapeutic Impasse"
    text = " ".join(note.get_content().split())
    assert text.startswith("Hello Robin Reader,")
    assert "decided not to publish yours" in text
    assert " ".join(REJECTION_REASONS[REASON][1].split()) in text
    assert " ".join(app.state.settings.crisis_message.split()) in text
    for name in resource_names(app):
        assert name in text
    assert "/mail/withdraw?token=" in text
    (entry, *_) = moderation(app).audit(comment_id)[0]
    assert (entry.action, entry.after) == ("reject", "rejected: Shares personal details")


def test_rejection_without_a_reason_still_mails_the_note(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id = confirmed_comment(app, client, box)
    moderation(app).reject(comment_id, OPERATOR)
    run(app)
    (note,) = box.to(READER)[1:]
    text = " ".join(note.get_content().split())
    assert "decided not to publish yours" in text
    for _, why in REJECTION_REASONS.values():
        assert " ".join(why.split()) not in text


def test_spam_gets_no_mail(app: FastAPI, client: TestClient, box: Mailbox) -> None:
    comment_id = confirmed_comment(app, client, box)
    moderation(app).mark_spam(comment_id, OPERATOR)
    run(app)
    assert len(box.to(READER)) == 1  # only the confirmation


def test_no_mail_without_the_opt_in(app: FastAPI, box: Mailbox) -> None:
    comment_id = add_comment(app.state.database, notify=False, notified=True)
    moderation(app).reject(comment_id, OPERATOR, REASON)
    run(app)
    assert box.to(READER) == []


def test_no_mail_before_the_address_is_confirmed(app: FastAPI, box: Mailbox) -> None:
    comment_id = add_comment(app.state.database, notify=True)
    run(app)  # the confirmation request, never followed
    moderation(app).reject(comment_id, OPERATOR, REASON)
    run(app)
    assert len(box.to(READER)) == 1


def test_an_unknown_reason_is_refused_naming_the_field(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    comment_id = confirmed_comment(app, client, box)
    make_staff(app.state.database, "mod")
    staff = AuthActions(client)
    staff.sign_in()

    response = staff.post(f"/staff/comments/{comment_id}/reject", {"reason": "because"})

    assert response.status_code == 422
    assert "Reason must be one of" in response.text
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    run(app)
    assert len(box.to(READER)) == 1


@pytest.mark.parametrize("reason", sorted(REJECTION_REASONS))
def test_every_reason_reads_as_a_sentence(reason: str) -> None:
    label, sentence = REJECTION_REASONS[reason]
    assert label and sentence.endswith(".") and sentence[0].isupper()
