"""Input an attacker would try: numbers past the database's range, invisible names,
over-long email local parts, names outside the Basic Multilingual Plane, and a honeypot
a bot should not be able to spot. Over real HTTP, on SQLite and on PostgreSQL (whose
INTEGER ends at 2**31 - 1)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, payload, post, post_approved, with_docs
from sqlalchemy import func, select

from comments_service.config import Settings
from comments_service.store.ids import MAX_ID
from comments_service.store.models import Comment
from comments_service.verbs import spam

# Each is refused as parent_id: the PostgreSQL INTEGER edge, SQLite's 64-bit edge, past
# both, a number Python cannot even convert (5,000 digits), and the ones below 1.
OUT_OF_RANGE_IDS = [2**31, 2**63, 2**64, 10**30, 0, -1, -(2**63) - 1]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e\u200f",
             "\u3164", "\u2800", "\U000e0041", " \u200b\u3000\u200d "]


def _client(settings: Settings, tmp_path: Path, path: str) -> Iterator[TestClient]:
    with app_client(with_docs(settings, tmp_path, rate_limit_count=1000)) as test_client:
        if path == "routed":
            test_client.app.fast_path = None  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture(params=["fast", "routed"])
def client(request: pytest.FixtureRequest, settings: Settings,
           tmp_path: Path) -> Iterator[TestClient]:
    """A client on SQLite, its posts answered by the fast path or by the route."""
    yield from _client(settings, tmp_path, request.param)


@pytest.fixture(params=["fast", "routed"])
def any_client(request: pytest.FixtureRequest, backend_settings: Settings,
               tmp_path: Path) -> Iterator[TestClient]:
    """The same on each backend, where the range of ids differs."""
    yield from _client(backend_settings, tmp_path, request.param)


def stored_count(client: TestClient) -> int:
    with client.app.state.database.read() as session:  # type: ignore[attr-defined]
        return session.scalar(select(func.count(Comment.id))) or 0


def form_fields(client: TestClient, **overrides: Any) -> dict[str, str]:
    token = spam.form_token(client.app.state.keyring.signing_key, OPEN,  # type: ignore[attr-defined]
                            now=time.time() - 60)
    data = {"article_id": OPEN, "return_to": f"http://testserver/{OPEN}/",
            "author": "Noor Reader", "email": "noor@example.org",
            "body": "Thank you, this was useful.", "parent_id": "", "accept_terms": "yes",
            "website": "", "form_token": token}
    data.update(overrides)
    return data


def send_form(client: TestClient, **overrides: Any) -> httpx.Response:
    return client.post("/comments", data=form_fields(client, **overrides),
                       follow_redirects=False)


# Numbers past the range ---------------------------------------------------------------


def test_parent_id_out_of_range_is_422_naming_parent_id(any_client: TestClient) -> None:
    for parent_id in OUT_OF_RANGE_IDS:
        response = post(any_client, parent_id=parent_id)

        assert response.status_code == 422, parent_id
        assert response.json()["errors"] == {
            "parent_id": "Reply to must name an existing comment."}, parent_id
    assert stored_count(any_client) == 0


def test_parent_id_of_thousands_of_digits_is_422_naming_parent_id(client: TestClient) -> None:
    raw = json.dumps(payload(parent_id=None)).replace(
        '"parent_id": null', '"parent_id": ' + "9" * 5000).encode()

    response = client.post(f"/api/articles/{OPEN}/comments", content=raw,
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    # The fast path reads the number and names the field; without it, the route's JSON
    # reader (Python's, capped at 4,300 digits) refuses the body as unreadable.
    routed = client.app.fast_path is None  # type: ignore[attr-defined]
    assert set(response.json()["errors"]) == ({"request"} if routed else {"parent_id"})
    assert stored_count(client) == 0


def test_the_largest_id_is_a_normal_unknown_parent(any_client: TestClient) -> None:
    response = post(any_client, parent_id=MAX_ID)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "parent_id": "Reply to: that comment is not published on this article."}


def test_form_parent_id_out_of_range_or_not_ascii_digits_is_named(
    any_client: TestClient,
) -> None:
    for parent_id in ["2147483648", "9" * 30, "9" * 5000, "-1", "0", "\u00b2", "\u0663", "1e3",
                      "1_000"]:
        response = send_form(any_client, parent_id=parent_id)

        assert response.status_code == 422, parent_id
        error = BeautifulSoup(response.text, "html5lib").find(id="field-parent_id")
        assert error is not None and "Reply to" in error.get_text(), parent_id
    assert stored_count(any_client) == 0


# Text that shows nothing, and lengths ---------------------------------------------------


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_name_and_comment_of_invisible_characters_are_blank(client: TestClient,
                                                            invisible: str) -> None:
    response = post(client, author=invisible * 3, body=invisible)

    assert response.status_code == 422
    assert response.json()["errors"] == {"author": "Name must not be blank.",
                                         "body": "Comment must not be blank."}
    assert stored_count(client) == 0


def test_invisible_characters_inside_a_visible_name_are_kept(client: TestClient) -> None:
    # A family emoji is joined with ZWJ; a right-to-left mark separates a mixed name.
    name = "\U0001f469\u200d\U0001f467 Dana \u200f\u05d3\u05e0\u05d4"
    comment_id = post_approved(client, author=name)

    thread = client.get(f"/api/articles/{OPEN}/comments").json()
    assert [(c["id"], c["author"]) for c in thread["comments"]] == [(comment_id, name)]


def test_email_local_part_over_64_characters_is_refused_naming_email(
    client: TestClient,
) -> None:
    assert post(client, email=f"{'a' * 64}@example.org", body="Sixty-four.").status_code == 202

    response = post(client, email=f"{'a' * 65}@example.org", body="Sixty-five.")

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email"}
    assert "before the @" in response.json()["errors"]["email"]


@pytest.mark.parametrize("character", ["\U0001f600", "\U00020000", "\u4e00", "e"])
def test_names_at_the_limit_count_characters_as_the_schema_and_script_do(
    client: TestClient, character: str
) -> None:
    """80 emoji (or CJK Extension B characters) are 160 UTF-16 units but 80 characters:
    accepted, like 80 ASCII letters; one more is refused naming author."""
    at_limit = character * 80

    accepted = post(client, author=at_limit, body=f"At the limit with {ord(character)}.")
    refused = post(client, author=at_limit + character, body=f"Over with {ord(character)}.")

    assert accepted.status_code == 202
    with client.app.state.database.read() as session:  # type: ignore[attr-defined]
        assert session.get(Comment, accepted.json()["id"]).author_name == at_limit
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"author"}


# The honeypot ------------------------------------------------------------------------


def _shape(response: httpx.Response) -> tuple[int, list[str], str, str | None]:
    data = response.json()
    assert isinstance(data["id"], int) and not isinstance(data["id"], bool)
    return response.status_code, sorted(data), data["message"], data["crisis_message"]


@pytest.mark.parametrize("website", ["http://spam.example", " ", "\t"])
def test_honeypot_answer_looks_like_a_real_post_and_stores_nothing(
    any_client: TestClient, website: str
) -> None:
    first = post(any_client, body="A real comment.")
    before = stored_count(any_client)

    trapped = post(any_client, body="A bot's comment.", website=website)
    after = post(any_client, body="Another real comment.")

    assert _shape(trapped) == _shape(first) == _shape(after)
    # Ids run on as a real post's would: after the last stored one, and the next real
    # comment's is not below it (SQLite hands the same one out again).
    assert first.json()["id"] < trapped.json()["id"] <= after.json()["id"]
    assert stored_count(any_client) == before + 1
    with any_client.app.state.database.read() as session:  # type: ignore[attr-defined]
        stored = session.get(Comment, trapped.json()["id"])
        assert stored is None or stored.body == "Another real comment."


def test_honeypot_id_answers_as_a_pending_comment_does_when_replied_to(
    client: TestClient,
) -> None:
    pending_id = post(client, body="Held for moderation.").json()["id"]
    fake_id = post(client, body="Dropped.", website="x").json()["id"]

    to_pending = post(client, body="Reply one.", parent_id=pending_id)
    to_fake = post(client, body="Reply two.", parent_id=fake_id)

    assert (to_fake.status_code, to_fake.json()) == (to_pending.status_code, to_pending.json())
    assert to_fake.status_code == 422


@pytest.mark.parametrize("overrides", [
    {"email": "not an address"},
    {"author": "\u200b"},
    {"accept_terms": False},
    {"parent_id": 2**40},
])
def test_honeypot_post_with_a_bad_field_is_refused_like_a_real_one(
    client: TestClient, overrides: dict[str, Any]
) -> None:
    real = post(client, **overrides)
    trapped = post(client, website="http://spam.example", **overrides)

    assert (trapped.status_code, trapped.json()) == (real.status_code, real.json())


def test_honeypot_repeat_of_a_stored_comment_is_409_like_a_real_one(
    client: TestClient,
) -> None:
    post(client, body="Said once.")

    again = post(client, body="Said once.")
    trapped = post(client, body="Said once.", website="x")

    assert trapped.status_code == again.status_code == 409
    assert trapped.json() == again.json()


def test_urgent_honeypot_post_gets_the_crisis_message_like_a_real_one(
    client: TestClient,
) -> None:
    real = post(client, body="I want to end my life.")
    trapped = post(client, body="I want to end my life, says the bot.", website="x")

    assert _shape(trapped) == _shape(real)
    assert trapped.json()["crisis_message"]


@pytest.mark.parametrize("body", ["Thank you, this was useful.", "I want to end my life."])
def test_form_honeypot_redirects_as_a_real_post_does(client: TestClient, body: str) -> None:
    real = send_form(client, body=body)
    trapped = send_form(client, body=body + " (bot)", website=" ")

    assert real.status_code == trapped.status_code == 303
    assert trapped.headers["location"] == real.headers["location"]
    assert stored_count(client) == 1
