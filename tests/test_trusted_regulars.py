"""Trusted regulars: after enough approved comments, a reader's next ones are published at
once, except urgent, blocked or likely-spam ones; staff can revoke that trust."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from service_support import OPEN, post, with_docs
from spam_support import add_fixture_comments, decide, staff_app
from sqlalchemy import select
from staff_support import (  # noqa: F401 - fast_hashing is autouse
    AuthActions,
    add_comment,
    fast_hashing,
    get_comment,
    keyring_for,
)

from comments_service.config import Settings
from comments_service.store.models import (
    AuditEntry,
    BakeRequest,
    CommentStatus,
    EmailSubscriber,
    OutboxMail,
)
from comments_service.verbs import spam

REGULAR = "regular.reader@example.org"


def regular(client: TestClient, auth: AuthActions, count: int = 3) -> list[int]:
    """A reader with ``count`` comments, each approved by staff over HTTP."""
    ids = []
    for n in range(count):
        response = post(client, email=REGULAR, body=f"Thank you for part {n} of the series.")
        assert response.status_code == 202
        ids.append(response.json()["id"])
    decide(auth, "approve", ids)
    return ids


def public_ids(client: TestClient) -> list[int]:
    thread = client.get(f"/api/articles/{OPEN}/comments").json()
    return [c["id"] for c in thread["comments"]]


def trusting(settings: Settings, tmp_path: Path, **overrides: object) -> Settings:
    return with_docs(settings, tmp_path, trusted_after=3, rate_limit_count=100, **overrides)


def test_trust_is_off_by_default(settings: Settings, tmp_path: Path) -> None:
    assert settings.trusted_after == 0
    with staff_app(with_docs(settings, tmp_path, rate_limit_count=100)) as (client, auth):
        regular(client, auth, count=4)
        response = post(client, email=REGULAR, body="Another thought on this article.")
        assert response.json()["status"] == "pending"


def test_after_n_approvals_the_next_comment_is_published_at_once(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trusting(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        regular(client, auth)
        with database.write() as session:  # the approvals' re-bakes, already done
            session.query(BakeRequest).delete()
        response = post(client, email="Regular.Reader@example.org",
                        body="One more thought: the checklist helped me too.")
        assert response.status_code == 202
        answer = response.json()
        assert answer["status"] == "approved"
        assert answer["message"] == "Thank you. Your comment is published."
        comment = get_comment(database, answer["id"])
        assert comment.status == CommentStatus.APPROVED
        assert answer["id"] in public_ids(client)
        with database.read() as session:
            entry = session.scalars(select(AuditEntry).where(
                AuditEntry.comment_id == answer["id"])).one()
            assert session.get(BakeRequest, OPEN) is not None  # the page re-bakes
        assert entry.actor == "auto-approve" and entry.action == "approve"
        assert "trusted regular: 3 approved comments" in entry.after
        assert "Published at once: trusted regular" in client.get(
            f"/staff/comments/{answer['id']}").text


def test_urgent_comments_from_a_regular_still_wait_for_a_person(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trusting(settings, tmp_path)) as (client, auth):
        regular(client, auth)
        response = post(client, email=REGULAR, body="Some days I want to end my life.")
        answer = response.json()
        assert answer["status"] == "pending"
        assert answer["crisis_message"]
        assert answer["id"] not in public_ids(client)


def test_one_rejected_comment_means_no_trust(settings: Settings, tmp_path: Path) -> None:
    with staff_app(trusting(settings, tmp_path)) as (client, auth):
        ids = regular(client, auth, count=4)
        decide(auth, "reject", ids[:1])
        response = post(client, email=REGULAR, body="Back again with a question.")
        assert response.json()["status"] == "pending"


def test_blocked_or_likely_spam_comments_from_a_regular_wait(settings: Settings,
                                                            tmp_path: Path) -> None:
    admin_settings = trusting(settings, tmp_path, spam_min_decisions=5)
    with staff_app(admin_settings, role="admin") as (client, auth):
        database = client.app.state.database
        decide(auth, "approve", add_fixture_comments(database, "ham", 20))
        decide(auth, "spam", add_fixture_comments(database, "spam", 20))
        regular(client, auth)
        spammy = post(client, email=REGULAR,
                      body="Buy cheap pills online no prescription http://pills.example.net")
        assert spammy.json()["status"] == "pending"
        assert get_comment(database, spammy.json()["id"]).spam_score >= 0.9

        auth.post("/staff/blocklist", {"kind": "phrase", "value": "waiting list",
                                       "action": "hold"})
        held = post(client, email=REGULAR, body="My waiting list is eight months long.")
        assert held.json()["status"] == "pending"
        assert get_comment(database, held.json()["id"]).screening_note.startswith("Blocklist")


def test_staff_revoke_trust_from_the_comment_page_and_can_restore_it(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trusting(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        ids = regular(client, auth)
        page = client.get(f"/staff/comments/{ids[0]}").text
        assert "Revoke trust for this commenter" in page
        response = auth.post(f"/staff/comments/{ids[0]}/trust", {"trust": "revoke"})
        assert response.status_code == 303
        assert "Trust revoked" in client.get(response.headers["location"]).text

        waiting = post(client, email=REGULAR, body="A new comment after the revocation.")
        assert waiting.json()["status"] == "pending"
        with database.read() as session:
            actions = [e.action for e in session.scalars(
                select(AuditEntry).where(AuditEntry.comment_id == ids[0]))]
        assert "trust_revoked" in actions

        assert auth.post(f"/staff/comments/{ids[0]}/trust",
                         {"trust": "restore"}).status_code == 303
        # A body the crisis detector reads as calm: an urgent comment waits whoever wrote it,
        # and the model still takes a short "... again" for self-harm ("cutting again").
        again = post(client, email=REGULAR, body="Thank you, that was quick.")
        assert again.json()["status"] == "approved"


def test_the_no_javascript_form_takes_a_trusted_regular_to_their_published_comment(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trusting(settings, tmp_path)) as (client, auth):
        regular(client, auth)
        token = spam.form_token(client.app.state.keyring.signing_key, OPEN,
                                now=time.time() - 60)
        response = client.post("/comments", data={
            "article_id": OPEN, "return_to": "http://testserver/open-article/",
            "author": "Regular Reader", "email": REGULAR, "accept_terms": "yes",
            "body": "Posted without JavaScript.", "form_token": token})
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("http://testserver/open-article/#comment-")
        assert int(location.rpartition("-")[2]) in public_ids(client)


def test_an_auto_approved_reply_tells_the_parent_author_as_a_staff_approval_would(
    settings: Settings, tmp_path: Path
) -> None:
    mailing = trusting(settings, tmp_path, smtp_host="127.0.0.1", notify_interval_seconds=0)
    with staff_app(mailing) as (client, auth):
        database = client.app.state.database
        regular(client, auth)
        parent = add_comment(database, body="Has anyone tried a review session?",
                             email="asker@example.org", article_id=OPEN, notify=True,
                             status=CommentStatus.APPROVED)
        with database.write() as session:
            session.add(EmailSubscriber(email_hash=keyring_for(database).email_hash(
                "asker@example.org"), confirmed=True))
        response = post(client, email=REGULAR, parent_id=parent,
                        body="Yes, and it helped us both.")
        assert response.json()["status"] == "approved"
        with database.read() as session:
            kinds = [m.kind for m in session.scalars(select(OutboxMail))]
        assert "reply_published" in kinds
