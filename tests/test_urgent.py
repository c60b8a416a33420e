"""Urgent attention: the crisis detector flags a comment, says why, and staff can dismiss it.

The detector's own behaviour (categories, languages, tolerance, calm uses) is tested in
test_crisis_detector.py; these tests check what readers and staff see of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from service_support import app_client, post, with_docs
from sqlalchemy import select
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.config import Settings
from comments_service.store.models import AuditEntry, Comment, CommentStatus
from comments_service.verbs import urgency
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    custom = with_docs(settings, tmp_path, crisis_message="Call the fictional helpline 0000.")
    with app_client(custom) as test_client:
        yield test_client


def stored(client: TestClient, comment_id: int) -> Comment:
    with client.app.state.database.read() as session:
        comment = session.get(Comment, comment_id)
    assert comment is not None
    return comment


def test_urgent_comment_is_flagged_pending_and_the_reader_sees_the_crisis_message(
    client: TestClient,
) -> None:
    response = post(client, body="I don't see the point anymore, I want to end my life.")

    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "pending"
    assert data["crisis_message"] == "Call the fictional helpline 0000."
    assert data["message"].startswith("Call the fictional helpline 0000.")
    assert "awaiting moderation" in data["message"]
    comment = stored(client, data["id"])
    assert comment.urgent is True
    assert comment.status == CommentStatus.PENDING


def test_the_flag_keeps_why_the_comment_is_urgent(client: TestClient) -> None:
    data = post(client, body="Honestly I've been hoarding my meds for a few weeks now.").json()

    reasons = urgency.parse_reasons(stored(client, data["id"]).urgent_reasons)
    assert {category for category, _ in reasons} == {"plans_means"}
    assert any("hoarding my meds" in text.lower() for _, text in reasons)


@pytest.mark.parametrize("body", [
    "no one would even notice if I was gone",
    "thinking of just ending it",
    "I keep hurting myself when things get bad",
    "cant do this anymore, want to sleep forever",
    "she told me she's going to end it tonight",
])
def test_ways_people_in_danger_write_are_flagged(client: TestClient, body: str) -> None:
    data = post(client, body=body).json()

    assert data["crisis_message"] is not None
    assert stored(client, data["id"]).urgent is True


@pytest.mark.parametrize("body", [
    "Thank you for this clear article.",
    "The section on suicide statistics needs a newer source.",
    "I work in crisis support and recommend this article to colleagues.",
])
def test_calm_comments_are_not_flagged_and_get_no_crisis_message(
    client: TestClient, body: str,
) -> None:
    data = post(client, body=body).json()

    assert data["crisis_message"] is None
    assert "helpline" not in data["message"]
    assert stored(client, data["id"]).urgent is False


def test_a_name_can_carry_the_disclosure(client: TestClient) -> None:
    data = post(client, author="want to die tonight", body="Thanks for writing this.").json()

    assert stored(client, data["id"]).urgent is True


def test_urgent_comment_is_not_published_by_the_flag(client: TestClient) -> None:
    post(client, body="Suicide is on my mind every single day.")
    thread = client.get("/api/articles/open-article/comments").json()
    assert thread["comments"] == []


def test_operators_add_a_phrase_with_its_category(settings: Settings, tmp_path: Path) -> None:
    custom = with_docs(settings, tmp_path,
                       urgent_terms=["plans_means:blue bottle plan", "feeling the fog"])
    with app_client(custom) as client:
        planned = post(client, body="Tonight is the Blue  Bottle plan.").json()
        foggy = post(client, body="Feeling the fog again, it won't lift.").json()

        assert urgency.parse_reasons(stored(client, planned["id"]).urgent_reasons)[0][0] == \
            "plans_means"
        assert stored(client, foggy["id"]).urgent is True


def test_operators_remove_a_builtin_phrase(settings: Settings, tmp_path: Path) -> None:
    text = "I want to die."
    assert urgency.assess(settings, text).urgent
    custom = with_docs(settings, tmp_path, urgent_terms_removed=["want to die"])

    assert not urgency.assess(custom, text).urgent


def test_urgent_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTS_URGENT_TERMS", "plans_means:the quarry, no way out")
    monkeypatch.setenv("COMMENTS_URGENT_TERMS_REMOVED", "want to die")
    settings = Settings()

    assert settings.urgent_terms == ["plans_means:the quarry", "no way out"]
    assert settings.urgent_terms_removed == ["want to die"]


# What staff see ---------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path, notify_interval_seconds=0))


@pytest.fixture
def staff(app: FastAPI) -> Iterator[AuthActions]:
    make_staff(app.state.database)
    with TestClient(app, follow_redirects=False) as test_client:
        actions = AuthActions(test_client)
        actions.sign_in()
        yield actions


def flagged(app: FastAPI, body: str) -> int:
    found = urgency.assess(app.state.settings, body)
    assert found.urgent
    comment_id = add_comment(app.state.database, body=body, urgent=True)
    with app.state.database.write() as session:
        session.get(Comment, comment_id).urgent_reasons = found.to_json()
    return comment_id


def test_the_queue_says_why_a_comment_is_urgent(app: FastAPI, staff: AuthActions) -> None:
    flagged(app, "I've been hoarding my meds, just in case.")

    page = staff.client.get("/staff/").text

    assert "Why urgent" in page
    assert "plans or means: &#39;" in page
    assert "hoarding my meds" in page.lower()


def test_staff_mark_a_false_alarm_and_it_is_audited(app: FastAPI, staff: AuthActions) -> None:
    comment_id = flagged(app, "I want to end my life.")

    response = staff.post("/staff/actions", {"action": f"dismiss_urgent:{comment_id}",
                                             "back": f"/staff/comments/{comment_id}"})

    assert response.status_code == 303
    comment = get_comment(app.state.database, comment_id)
    assert comment.urgent is False
    assert comment.urgent_reasons  # kept for review
    with app.state.database.read() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "urgent_dismissed")).one()
    assert entry.comment_id == comment_id and entry.actor == "mod"
    assert "end my life" in entry.before
    page = staff.client.get(f"/staff/comments/{comment_id}").text
    assert "dismissed as a false alarm" in page
    assert "Not urgent (false alarm)" not in page


def test_a_comment_that_is_not_urgent_has_no_dismiss_button(
    app: FastAPI, staff: AuthActions,
) -> None:
    add_comment(app.state.database, body="A calm and kind comment.")

    assert "Not urgent (false alarm)" not in staff.client.get("/staff/").text


def test_a_staff_edit_can_raise_a_flag_but_never_clears_one(app: FastAPI) -> None:
    database = app.state.database
    moderation = Moderation(database, app.state.keyring)
    calm = add_comment(database, body="Nice article.")
    urgent = flagged(app, "I want to end my life.")

    moderation.edit(calm, "Nice article. I want to end my life.", Actor.operator("test"))
    moderation.edit(urgent, "[redacted by staff]", Actor.operator("test"))

    assert get_comment(database, calm).urgent is True
    assert get_comment(database, urgent).urgent is True
    assert json.loads(get_comment(database, urgent).urgent_reasons)

