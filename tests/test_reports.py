"""Reader reports: the Report control, storing and rate limiting, hiding, and staff decisions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, post_approved, with_docs
from sqlalchemy import select
from staff_support import (
    AuthActions,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.config import Settings
from comments_service.store.models import (
    AuditEntry,
    CommentReport,
    CommentStatus,
    OutboxMail,
)
from comments_service.verbs import reports

NOTE = "This names a real neighbour and says where she lives."


@pytest.fixture
def make_client(settings: Settings, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    opened: list[Any] = []

    def make(**overrides: object) -> TestClient:
        context = app_client(with_docs(settings, tmp_path, notify_interval_seconds=0,
                                       **overrides))
        client = context.__enter__()
        client.follow_redirects = False
        opened.append(context)
        return client

    yield make
    for context in reversed(opened):
        context.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client()


def report(client: TestClient, comment_id: int, **fields: object) -> httpx.Response:
    return client.post(f"/api/comments/{comment_id}/reports",
                       json={"reason": "harassment", **fields})


def public_ids(client: TestClient) -> list[int]:
    thread = client.get(f"/api/articles/{OPEN}/comments").json()
    return [c["id"] for c in thread["comments"]]


def signed_in(client: TestClient) -> AuthActions:
    make_staff(client.app.state.database)
    auth = AuthActions(client)
    assert auth.sign_in().status_code == 303
    return auth


def stored(client: TestClient) -> list[CommentReport]:
    with client.app.state.database.read() as session:
        return list(session.scalars(select(CommentReport).order_by(CommentReport.id)))


# Reporting --------------------------------------------------------------------------------


def test_a_report_is_stored_and_shown_to_staff_with_its_count(client: TestClient) -> None:
    comment_id = post_approved(client)
    answer = report(client, comment_id, note=NOTE)
    assert answer.status_code == 202
    assert answer.json()["message"] == reports.THANKS
    assert report(client, comment_id, reason="spam").status_code == 202
    # Without the hiding switch the comment stays on the page.
    assert public_ids(client) == [comment_id]

    auth = signed_in(client)
    listed = BeautifulSoup(client.get("/staff/reports").text, "html5lib")
    row = listed.select_one(".row-reports").get_text()
    assert row.startswith("2 open reports: Harassment, Spam")
    queue = BeautifulSoup(client.get("/staff/?status=approved").text, "html5lib")
    assert queue.select_one(f"#row-{comment_id} .row-reports").get_text(strip=True) \
        == "2 open reports"
    assert queue.select_one("a[href='/staff/reports']").get_text() == "Reported"
    page = BeautifulSoup(client.get(f"/staff/comments/{comment_id}").text, "html5lib")
    section = page.select_one("#reports")
    assert "Reader reports (2 open)" in section.get_text()
    assert NOTE in section.get_text()
    assert auth.csrf


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reason": "boring"}, "reason", "Reason must be one of: harmful, harassment, "
                                     "personal_info, spam, illegal, other."),
    ({"reason": "illegal"}, "note", "Please explain why you think this comment is illegal."),
    ({"note": "x" * 1001}, "note", "Note must be at most 1000 characters (it has 1001)."),
    ({"email": "not an address"}, "email",
     "Email is not a valid address (for example name@example.org)."),
    ({"note": "bell\x07"}, "note", "Note must not contain control characters."),
])
def test_bad_reports_are_refused_naming_the_field(client: TestClient, fields: dict[str, str],
                                                  field: str, message: str) -> None:
    comment_id = post_approved(client)
    answer = report(client, comment_id, **fields)
    assert answer.status_code == 422
    assert answer.json()["errors"] == {field: message}
    assert stored(client) == []


def test_only_published_comments_can_be_reported(client: TestClient) -> None:
    held = client.post(f"/api/articles/{OPEN}/comments", json={
        "author": "Ada", "email": "ada@example.org", "body": "Waiting.",
        "accept_terms": True}).json()["id"]
    for comment_id in (held, 999999, 0):
        answer = report(client, comment_id)
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"There is no published comment #{comment_id}."
    assert client.post("/api/comments/1/reports", content=b"[1]",
                       headers={"content-type": "application/json"}).status_code == 422


def test_reports_are_rate_limited_per_address(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(report_rate_limit_count=2)
    comment_id = post_approved(client)
    assert [report(client, comment_id).status_code for _ in range(2)] == [202, 202]
    refused = report(client, comment_id)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert len(stored(client)) == 2
    # Another address is not held back.
    other = TestClient(client.app, client=("203.0.113.9", 50000))
    assert report(other, comment_id).status_code == 202


# Hiding and decisions ---------------------------------------------------------------------


def test_an_unsafe_report_hides_the_comment_until_staff_dismiss_it(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(report_hide=True)
    comment_id = post_approved(client)
    assert report(client, comment_id, reason="harmful").status_code == 202
    assert public_ids(client) == []
    assert get_comment(client.app.state.database, comment_id).status == CommentStatus.PENDING

    auth = signed_in(client)
    listed = client.get("/staff/reports").text
    assert "Hidden from the page pending review." in listed
    done = auth.post(f"/staff/comments/{comment_id}/reports", {"decision": "dismiss"})
    assert done.status_code == 303
    assert public_ids(client) == [comment_id]
    [decided] = stored(client)
    assert (decided.status, decided.decision, decided.decided_by) == ("dismissed", "dismissed",
                                                                     "mod")
    with client.app.state.database.read() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.comment_id == comment_id).order_by(AuditEntry.id)))
    assert actions[-2:] == ["hidden_by_reports", "reports_dismissed"]


def test_enough_reports_hide_a_comment_and_fewer_do_not(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(report_hide=True, report_hide_threshold=2)
    comment_id = post_approved(client)
    report(client, comment_id, reason="spam")
    assert public_ids(client) == [comment_id]
    report(client, comment_id, reason="other")
    assert public_ids(client) == []


def test_upholding_an_illegal_content_notice_keeps_the_dsa_record(client: TestClient) -> None:
    comment_id = post_approved(client)
    assert report(client, comment_id, reason="illegal", note=NOTE, name="Rowan Example",
                  email="rowan@example.org").status_code == 202
    auth = signed_in(client)
    # Upholding needs a statement of reasons; without one nothing changes.
    refused = auth.post(f"/staff/comments/{comment_id}/reports", {"decision": "reject"})
    assert refused.status_code == 422
    assert "statement: a statement of reasons is required" in refused.text
    assert public_ids(client) == [comment_id]

    statement = "Removed: it discloses a private person's home address (doxxing)."
    done = auth.post(f"/staff/comments/{comment_id}/reports",
                     {"decision": "reject", "statement": statement})
    assert done.status_code == 303
    assert public_ids(client) == []
    assert get_comment(client.app.state.database, comment_id).status == CommentStatus.REJECTED
    [record] = stored(client)
    assert record.reason == "illegal" and record.note == NOTE
    assert record.reporter_name == "Rowan Example" and record.reporter_email_encrypted
    assert record.created_at <= record.decided_at
    assert (record.status, record.decision, record.statement_of_reasons) == (
        "upheld", "rejected", statement)
    page = BeautifulSoup(client.get(f"/staff/comments/{comment_id}").text, "html5lib")
    listed = page.select_one("#reports").get_text()
    assert "rowan@example.org" in listed and f"statement of reasons: {statement}" in listed
    with client.app.state.database.read() as session:
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "reports_upheld")).one()
    assert audit.before == "approved" and statement in audit.after
    assert "Illegal content" in audit.after


def test_a_report_is_announced_to_webhooks_without_its_note(make_client) -> None:  # type: ignore[no-untyped-def]
    hooks = json.dumps([{"name": "ops", "url": "http://127.0.0.1:9/hook", "format": "json",
                         "secret": "a-receiver-shared-secret-0123456789"}])
    client = make_client(webhooks=hooks)
    comment_id = post_approved(client)
    report(client, comment_id, note=NOTE, email="rowan@example.org")
    with client.app.state.database.read() as session:
        [row] = session.scalars(select(OutboxMail).where(
            OutboxMail.kind == "webhook:comment.reported"))
    payload = json.loads(row.body)
    assert payload["report"] == {"id": stored(client)[0].id, "reason": "Harassment",
                                 "open_reports": 1}
    assert payload["comment"]["id"] == comment_id
    assert NOTE not in row.body and "rowan@" not in row.body


# The page without JavaScript --------------------------------------------------------------


def test_the_no_javascript_page_takes_a_report_and_says_thank_you(client: TestClient) -> None:
    comment_id = post_approved(client, body="A comment someone finds hurtful.")
    page = BeautifulSoup(client.get(f"/comments/{comment_id}/report").text, "html5lib")
    assert "A comment someone finds hurtful." in page.select_one("#reported-comment").get_text()
    assert [i["value"] for i in page.select("input[name=reason]")] == list(reports.REASONS)
    assert page.select_one(f"a[href$='#comment-{comment_id}']") is not None

    action = page.select_one("form")["action"]
    wrong = client.post(action, data={"reason": "illegal"})
    assert wrong.status_code == 422
    assert "Please explain why you think this comment is illegal." in wrong.text
    done = client.post(action, data={"reason": "personal_info", "note": NOTE})
    assert done.status_code == 200
    thanked = BeautifulSoup(done.text, "html5lib")
    assert thanked.select_one("#summary").get_text(strip=True) == reports.THANKS
    assert thanked.select_one("form") is None
    assert [r.reason for r in stored(client)] == ["personal_info"]
    assert client.get("/comments/424242/report").status_code == 404


def test_report_ip_hashes_are_purged_with_the_others(client: TestClient) -> None:
    from datetime import timedelta

    from comments_service.store.models import utcnow
    from comments_service.verbs.privacy import purge_ip_hashes

    comment_id = post_approved(client)
    report(client, comment_id)
    database = client.app.state.database
    purge_ip_hashes(database, now=utcnow() + timedelta(days=31))
    [kept] = stored(client)
    assert kept.ip_hash is None and kept.reason == "harassment"



def test_reports_hide_and_dismiss_on_sqlite_and_postgresql(
    backend_settings: Settings, tmp_path: Path,
) -> None:
    settings = with_docs(backend_settings, tmp_path, report_hide=True,
                         report_rate_limit_count=2, notify_interval_seconds=0)
    with app_client(settings) as client:
        comment_id = post_approved(client)
        other_id = post_approved(client, body="Another published comment.")
        assert report(client, comment_id, reason="other").status_code == 202
        assert public_ids(client) == [comment_id, other_id]
        assert report(client, comment_id, reason="harmful").status_code == 202
        assert public_ids(client) == [other_id]
        # Hidden now, so no longer reportable; and this address has used its two reports.
        assert report(client, comment_id).status_code == 404
        assert report(client, other_id).status_code == 429
        client.follow_redirects = False
        auth = signed_in(client)
        assert auth.post(f"/staff/comments/{comment_id}/reports",
                         {"decision": "dismiss"}).status_code == 303
        assert public_ids(client) == [comment_id, other_id]
        assert [r.status for r in stored(client)] == ["dismissed", "dismissed"]


def test_privacy_export_and_erasure_cover_the_reports_an_address_made(
    client: TestClient,
) -> None:
    from comments_service.verbs.audit import Actor
    from comments_service.verbs.privacy import erase_by_email, export_by_email

    comment_id = post_approved(client)
    report(client, comment_id, note=NOTE, name="Rowan Example", email="rowan@example.org")
    state = client.app.state
    operator = Actor.operator("test")
    exported = export_by_email(state.database, state.keyring, "rowan@example.org", operator)
    assert [(r["comment_id"], r["reason"], r["name"]) for r in exported["reports"]] == [
        (comment_id, "harassment", "Rowan Example")]
    erase_by_email(state.database, state.keyring, "rowan@example.org", operator,
                   keep_text=True)
    [kept] = stored(client)
    assert (kept.reporter_name, kept.reporter_email_encrypted, kept.ip_hash) == ("", "", None)
    assert kept.reason == "harassment" and kept.note == NOTE
