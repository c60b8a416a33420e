"""Bad input: a clear error naming each field, nothing stored; good Unicode kept exactly."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, payload, post, with_docs
from sqlalchemy import func, select

from comments_service.config import Settings
from comments_service.store.models import Comment


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(settings, tmp_path)) as test_client:
        yield test_client


def count(client: TestClient) -> int:
    with client.app.state.database.read() as session:
        return session.scalar(select(func.count(Comment.id)))


def stored_comment(client: TestClient, comment_id: int) -> Comment:
    with client.app.state.database.read() as session:
        return session.get(Comment, comment_id)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"author": None}, "author"),
    ({"author": ""}, "author"),
    ({"author": "   "}, "author"),
    ({"author": "x" * 81}, "author"),
    ({"author": "Ada\nLovelace"}, "author"),
    ({"author": "Ada\x00"}, "author"),
    ({"author": "Ada\x07"}, "author"),
    ({"email": ""}, "email"),
    ({"email": "not-an-address"}, "email"),
    ({"email": "ada@"}, "email"),
    ({"email": "ada@example.org\r\nBcc: victim@example.org"}, "email"),
    ({"email": "ada@example.org\n"}, "email"),
    ({"body": ""}, "body"),
    ({"body": " \n\t "}, "body"),
    ({"body": "x" * 5001}, "body"),
    ({"body": "null byte \x00 here"}, "body"),
    ({"body": "escape \x1b[31m sequence"}, "body"),
    ({"accept_terms": False}, "accept_terms"),
    ({"parent_id": 0}, "parent_id"),
])
def test_bad_field_is_refused_naming_the_field(
    client: TestClient, overrides: dict, field: str
) -> None:
    response = post(client, **overrides)

    assert response.status_code == 422, response.text
    data = response.json()
    assert set(data["errors"]) == {field}
    assert data["errors"][field]
    assert count(client) == 0


@pytest.mark.parametrize("missing", ["author", "email", "body", "accept_terms"])
def test_missing_required_field_is_refused_naming_it(client: TestClient, missing: str) -> None:
    data = payload()
    del data[missing]

    response = client.post(f"/api/articles/{OPEN}/comments", json=data)

    assert response.status_code == 422
    assert missing in response.json()["errors"]
    assert count(client) == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"author": 5}, "author"),
    ({"email": ["a@example.org"]}, "email"),
    ({"body": {"text": "hi"}}, "body"),
    ({"parent_id": "12"}, "parent_id"),
    ({"parent_id": 1.5}, "parent_id"),
    ({"notify": "yes"}, "notify"),
    ({"accept_terms": "true"}, "accept_terms"),
])
def test_wrong_json_types_are_422_naming_the_field(
    client: TestClient, overrides: dict, field: str
) -> None:
    response = post(client, **overrides)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert count(client) == 0


def test_several_bad_fields_are_all_reported_at_once(client: TestClient) -> None:
    response = post(client, author="", email="nope", body=7, accept_terms=False)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"author", "email", "body", "accept_terms"}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\"text\"", b""])
def test_malformed_json_is_422(client: TestClient, raw: bytes) -> None:
    response = client.post(f"/api/articles/{OPEN}/comments", content=raw,
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] and isinstance(body["errors"], dict) and body["errors"]
    assert count(client) == 0


def test_errors_never_echo_the_input(client: TestClient) -> None:
    response = post(client, email="<script>alert(1)</script>", author=123)
    assert "<script>" not in response.text and "123" not in response.text


def test_limits_are_inclusive(client: TestClient) -> None:
    response = post(client, author="a" * 80, body="b" * 5000)
    assert response.status_code == 202


@pytest.mark.parametrize("text", [
    "Zoë Ångström",
    "山田 花子",
    "مرحبا بالعالم",
    "\u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd",
    "family 👨\u200d👩\u200d👧 and flags 🇳🇿",
    "tab\tinside",
])
def test_unicode_is_kept_exactly(client: TestClient, text: str) -> None:
    response = post(client, author=text.replace("\t", " "), body=text)

    assert response.status_code == 202, response.text
    comment = stored_comment(client, response.json()["id"])
    assert comment.author_name == text.replace("\t", " ")
    assert comment.body == text


def test_text_is_normalised_to_nfc(client: TestClient) -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë Café")
    assert decomposed != "Zoë Café"

    response = post(client, author=decomposed, body=decomposed)

    comment = stored_comment(client, response.json()["id"])
    assert comment.author_name == "Zoë Café"
    assert comment.body == "Zoë Café"


def test_windows_line_endings_are_normalised(client: TestClient) -> None:
    response = post(client, body="one\r\ntwo\r\n\r\nthree\rfour")

    comment = stored_comment(client, response.json()["id"])
    assert comment.body == "one\ntwo\n\nthree\nfour"
    assert comment.body_html == "<p>one<br>two</p><p>three<br>four</p>"


PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "https://example.org/\"onmouseover=\"alert(1)",
    "https://example.org/<script>",
    "<iframe src=https://example.org></iframe>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "<style>body{display:none}</style>",
]


@pytest.mark.parametrize("attack", PAYLOADS)
def test_stored_html_never_carries_markup_from_the_reader(client: TestClient, attack: str) -> None:
    response = post(client, body=f"before {attack} after")

    html = stored_comment(client, response.json()["id"]).body_html
    soup = BeautifulSoup(html, "html5lib")
    for tag in soup.body.find_all(True):
        assert tag.name in {"p", "br", "a"}
        allowed = {"href", "rel"} if tag.name == "a" else set()
        assert set(tag.attrs) <= allowed
        if tag.name == "a":
            assert tag["href"].startswith(("https://", "http://"))
            assert '"' not in tag["href"] and "<" not in tag["href"]
    assert "before" in soup.get_text() and "after" in soup.get_text()
