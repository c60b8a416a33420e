"""Urgent attention: crisis terms flag a comment and show the reader help at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import app_client, post, with_docs

from comments_service.config import DEFAULT_URGENT_TERMS, Settings
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.urgency import is_urgent, urgent_terms_in

TERMS = DEFAULT_URGENT_TERMS


@pytest.mark.parametrize("text", [
    "Some days I think about suicide.",
    "SUICIDAL thoughts again",
    "I want to die",
    "i just want to   die tonight",
    "I can't go on like this",
    "I can\u2019t go on like this",
    "Je pense au suïcide",
    "Self-harm has been part of my life",
    "self harm",
    "self\u2011harm",
    "Going through a crisis.",
    "CRÍSIS at home",
    "thinking of ending my life",
])
def test_crisis_language_is_found_whatever_the_case_or_accents(text: str) -> None:
    assert is_urgent(text, TERMS)


@pytest.mark.parametrize("text", [
    "A lovely article about endings in therapy.",
    "The crisises of the last century",  # not the word 'crisis' itself
    "Selfharmony is a band",
    "She died peacefully in 1990.",
    "overdoses of optimism",
])
def test_ordinary_text_and_words_containing_a_term_are_not_flagged(text: str) -> None:
    assert not is_urgent(text, TERMS)


def test_terms_found_are_reported_in_order() -> None:
    assert urgent_terms_in("Crisis, then I wanted to kill myself", TERMS) == [
        "crisis", "kill myself"]


def test_terms_are_configurable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTS_URGENT_TERMS", "hopeless, no way out")
    settings = Settings()

    assert settings.urgent_terms == ["hopeless", "no way out"]
    assert is_urgent("I feel hopeless", settings.urgent_terms)
    assert not is_urgent("suicide", settings.urgent_terms)


def test_no_terms_flag_nothing() -> None:
    assert not is_urgent("suicide", [])


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    custom = with_docs(settings, tmp_path, crisis_message="Call the fictional helpline 0000.")
    with app_client(custom) as test_client:
        yield test_client


def test_urgent_comment_is_flagged_pending_and_the_reader_sees_the_crisis_message(
    client: TestClient,
) -> None:
    response = post(client, body="I don't see the point, I want to end my life.")

    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "pending"
    assert data["crisis_message"] == "Call the fictional helpline 0000."
    assert data["message"].startswith("Call the fictional helpline 0000.")
    assert "awaiting moderation" in data["message"]
    with client.app.state.database.read() as session:
        comment = session.get(Comment, data["id"])
    assert comment.urgent is True
    assert comment.status == CommentStatus.PENDING


def test_ordinary_comment_is_not_flagged_and_gets_no_crisis_message(client: TestClient) -> None:
    data = post(client, body="Thank you for this clear article.").json()

    assert data["crisis_message"] is None
    assert "helpline" not in data["message"]
    with client.app.state.database.read() as session:
        assert session.get(Comment, data["id"]).urgent is False


def test_urgent_comment_is_not_published_by_the_flag(client: TestClient) -> None:
    post(client, body="Suicide is on my mind.")
    thread = client.get("/api/articles/open-article/comments").json()
    assert thread["comments"] == []
