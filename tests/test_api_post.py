"""Posting comments through the public JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import (
    CLIENT_IP,
    CLOSED,
    HIDDEN,
    OPEN,
    OTHER,
    app_client,
    payload,
    post,
    post_approved,
    with_docs,
)
from sqlalchemy import select

from comments_service.config import Settings
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.keyring import Keyring


@pytest.fixture
def client(backend_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(backend_settings, tmp_path)) as test_client:
        yield test_client


def stored(client: TestClient) -> list[Comment]:
    with client.app.state.database.read() as session:
        return list(session.scalars(select(Comment).order_by(Comment.id)))


def test_post_answers_202_pending_and_stores_it_pending(client: TestClient) -> None:
    response = post(client, body="A first comment.")

    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "pending"
    assert "awaiting moderation" in data["message"]
    assert data["crisis_message"] is None
    (comment,) = stored(client)
    assert comment.id == data["id"]
    assert comment.status == CommentStatus.PENDING
    assert comment.article_id == OPEN
    assert comment.body == "A first comment."
    assert comment.is_staff is False and comment.urgent is False


def test_pending_comment_is_not_in_the_public_thread(client: TestClient) -> None:
    post(client)
    assert client.get(f"/api/articles/{OPEN}/comments").json()["comments"] == []


@pytest.mark.parametrize("extra", [
    {"status": "approved"},
    {"approved": True},
    {"staff": True, "is_staff": True, "staff_user_id": 1},
    {"urgent": False, "body_html": "<script>alert(1)</script>", "id": 999, "depth": 0},
])
def test_fields_outside_the_contract_are_ignored(client: TestClient, extra: dict) -> None:
    body = "I would like this published right away."
    response = client.post(f"/api/articles/{OPEN}/comments",
                           json={"author": "Ada", "email": "ada@example.org", "body": body,
                                 "accept_terms": True, **extra})

    assert response.status_code == 202
    (comment,) = stored(client)
    assert comment.status == CommentStatus.PENDING
    assert comment.is_staff is False and comment.staff_user_id is None
    assert comment.body_html == f"<p>{body}</p>"
    assert comment.id == response.json()["id"] != 999


def test_email_is_stored_encrypted_with_a_keyed_hash(
    client: TestClient, backend_settings: Settings
) -> None:
    post(client, email="Someone.Private@Example.org")

    (comment,) = stored(client)
    keyring = Keyring(backend_settings.secret())
    assert "someone.private" not in comment.email_encrypted.lower()
    assert keyring.decrypt_email(comment.email_encrypted) == "Someone.Private@example.org"
    assert comment.email_hash == keyring.email_hash("someone.private@example.org")


def test_only_a_keyed_hash_of_the_client_ip_is_stored(
    client: TestClient, backend_settings: Settings
) -> None:
    post(client)

    (comment,) = stored(client)
    assert comment.ip_hash == Keyring(backend_settings.secret()).ip_hash(CLIENT_IP)
    row_text = json.dumps({c.name: str(getattr(comment, c.key))
                           for c in Comment.__table__.columns})
    assert CLIENT_IP not in row_text


def test_safe_html_is_rendered_once_when_stored(client: TestClient) -> None:
    post(client, body="<b>bold?</b>\nline two\n\nsee https://example.org")

    (comment,) = stored(client)
    assert comment.body == "<b>bold?</b>\nline two\n\nsee https://example.org"
    assert comment.body_html == (
        "<p>&lt;b&gt;bold?&lt;/b&gt;<br>line two</p><p>see <a href=\"https://example.org\" "
        "rel=\"nofollow ugc noopener\">https://example.org</a></p>"
    )


def test_notify_opt_in_is_stored(client: TestClient) -> None:
    post(client, notify=True)
    assert stored(client)[0].notify is True


def test_reply_to_an_approved_comment_is_stored_under_it(client: TestClient) -> None:
    parent = post_approved(client, body="Parent.")

    response = post(client, body="A reply.", parent_id=parent)

    assert response.status_code == 202
    reply = stored(client)[-1]
    assert reply.parent_id == parent and reply.depth == 1


def test_reply_to_a_pending_comment_is_refused(client: TestClient) -> None:
    parent = post(client, body="Not yet approved.").json()["id"]

    response = post(client, body="A reply.", parent_id=parent)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"parent_id"}
    assert len(stored(client)) == 1


def test_reply_to_a_comment_on_another_article_is_refused(client: TestClient) -> None:
    parent = post_approved(client, OTHER, body="On the other article.")

    response = post(client, OPEN, body="A reply.", parent_id=parent)

    assert response.status_code == 422
    assert "parent_id" in response.json()["errors"]


def test_reply_to_a_missing_comment_is_refused(client: TestClient) -> None:
    response = post(client, parent_id=424242)
    assert response.status_code == 422
    assert "parent_id" in response.json()["errors"]


def test_replies_nest_three_deep_then_attach_beside_the_deepest(client: TestClient) -> None:
    level = [post_approved(client, body="depth 0")]
    for depth in (1, 2, 3):
        level.append(post_approved(client, body=f"depth {depth}", parent_id=level[-1]))

    response = post(client, body="would be depth 4", parent_id=level[3])

    assert response.status_code == 202
    by_id = {c.id: c for c in stored(client)}
    assert [by_id[i].depth for i in level] == [0, 1, 2, 3]
    deepest = by_id[response.json()["id"]]
    assert deepest.depth == 3
    assert deepest.parent_id == level[2]


def test_unknown_article_is_404_and_stores_nothing(client: TestClient) -> None:
    response = post(client, "no-such-article")
    assert response.status_code == 404
    assert stored(client) == []


@pytest.mark.parametrize("article_id", [CLOSED, HIDDEN])
def test_closed_and_hidden_articles_refuse_comments_with_403(
    client: TestClient, article_id: str
) -> None:
    response = post(client, article_id)
    assert response.status_code == 403
    assert stored(client) == []


def test_body_over_the_byte_limit_is_413_by_content_length(
    backend_settings: Settings, tmp_path: Path
) -> None:
    with app_client(with_docs(backend_settings, tmp_path, max_body_bytes=2000)) as client:
        response = post(client, body="x" * 3000)
        assert response.status_code == 413
        assert stored(client) == []


def test_body_over_the_byte_limit_is_413_without_content_length(
    backend_settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(backend_settings, tmp_path, max_body_bytes=2000)
    body = json.dumps({"author": "A", "email": "a@example.org", "body": "x" * 3000,
                       "accept_terms": True}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start:start + 500]

    with app_client(settings) as client:
        response = client.post(f"/api/articles/{OPEN}/comments", content=chunks(),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert stored(client) == []


def test_every_write_is_logged_as_json_without_the_email(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="comments_service.events"):
        comment_id = post(client, email="hidden.address@example.org").json()["id"]

    records = [json.loads(r.getMessage()) for r in caplog.records
               if r.name == "comments_service.events"]
    assert records == [{"event": "comment.submitted", "comment_id": comment_id,
                        "article_id": OPEN, "parent_id": None, "urgent": False,
                        "notify": False, "length": len(
                            "This helped me understand what was going on in my sessions.")}]
    assert "hidden.address" not in caplog.text
    assert CLIENT_IP not in caplog.text


def test_fast_post_path_answers_exactly_as_the_route(
    backend_settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=1000, max_body_bytes=4000)
    site, evil = {"Origin": "http://testserver"}, {"Origin": "https://evil.example"}
    compared = ("content-type", "content-length", "vary", "retry-after",
                "access-control-allow-origin", "access-control-expose-headers")

    def answers(client: TestClient, run: str) -> list[tuple]:
        parent = post_approved(client, body=f"A parent ({run}).")
        cases: list[tuple[str, dict, dict]] = [
            (OPEN, {"body": f"Plain ({run})."}, site),
            (OPEN, {"body": f"From elsewhere ({run})."}, evil),
            (OPEN, {"body": f"Plain ({run})."}, site),  # the same again: 409
            (OPEN, {"body": f"I want to end my life ({run})."}, {}),
            (OPEN, {"body": f"A reply ({run}).", "parent_id": parent, "notify": True}, site),
            (OPEN, {"body": f"To nothing ({run}).", "parent_id": 10**9}, {}),
            (OPEN, {"body": f"Bad email ({run}).", "email": "not an address"}, site),
            (OPEN, {"body": f"Typed wrong ({run}).", "notify": "yes"}, site),
            (OPEN, {"body": f"No terms ({run}).", "accept_terms": None}, {}),
            (OPEN, {"body": f"Honeypot ({run}).", "website": "http://spam.example"}, {}),
            (OPEN, {"body": "x" * 5000}, site),  # over max_body_bytes: 413
            (CLOSED, {"body": f"Closed ({run})."}, {}),
            (HIDDEN, {"body": f"Hidden ({run})."}, {}),
            ("no-such-article", {"body": f"Nowhere ({run})."}, {}),
        ]
        out = []
        for article, fields, headers in cases:
            body = {k: v for k, v in payload(**fields).items() if v is not None}
            response = client.post(f"/api/articles/{article}/comments", json=body,
                                   headers=headers)
            out.append(_answer(response, run, compared))
        for raw in (b"{not json", b"[1, 2]"):
            response = client.post(f"/api/articles/{OPEN}/comments", content=raw,
                                   headers={"Content-Type": "application/json", **site})
            out.append(_answer(response, run, compared))
        return out

    with app_client(settings) as client:
        fast = answers(client, "fast")
        client.app.fast_path = None
        routed = answers(client, "routed")
        stored_bodies = [c.body for c in stored(client)]

    assert fast == routed
    assert [status for status, *_ in fast][:5] == [202, 202, 409, 202, 202]
    assert "Plain (fast)." in stored_bodies and "Plain (routed)." in stored_bodies


def _answer(response, run: str, compared: tuple[str, ...]) -> tuple:  # type: ignore[no-untyped-def]
    """Status, JSON body (without the new id, with this run's tag removed) and headers."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body.pop("id", None)
        body = json.loads(json.dumps(body).replace(run, "RUN"))
    headers = {name: response.headers.get(name) for name in compared}
    if headers["content-length"] and isinstance(body, dict):
        headers["content-length"] = "compared as JSON"
    return response.status_code, body, headers
