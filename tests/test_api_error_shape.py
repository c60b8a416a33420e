"""What the JSON API's bytes look like: <, > and & always escaped, every error in the one
documented shape (unknown paths, wrong methods and unreadable bodies too), and an OpenAPI
document that states the limits the service enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, post, post_approved, with_docs

from comments_service.config import Settings
from comments_service.store.ids import MAX_ID
from comments_service.verbs import pause
from comments_service.verbs.audit import Actor

MARKUP = '<b>Tom & "Jerry"</b> </script><!--'


@pytest.fixture(params=["fast", "routed"])
def client(request: pytest.FixtureRequest, settings: Settings,
           tmp_path: Path) -> Iterator[TestClient]:
    """A client whose hot requests are answered by the fast path, or all by the routes."""
    with app_client(with_docs(settings, tmp_path)) as test_client:
        if request.param == "routed":
            test_client.app.fast_path = None  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture(params=[True, False], ids=["with-site", "service-only"])
def any_mount_client(request: pytest.FixtureRequest, settings: Settings,
                     tmp_path: Path) -> Iterator[TestClient]:
    """With the development site served at / and without it (production)."""
    with app_client(with_docs(settings, tmp_path, serve_site=request.param)) as test_client:
        yield test_client


def assert_inert(raw: bytes) -> None:
    assert b"<" not in raw and b">" not in raw and b"&" not in raw, raw[:300]


def assert_error_shape(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"detail", "errors"}
    assert isinstance(data["detail"], str) and data["detail"]
    assert isinstance(data["errors"], dict)
    return data


# Escaping ----------------------------------------------------------------------------


def test_thread_bytes_escape_markup_and_decode_to_the_same_text(client: TestClient) -> None:
    post_approved(client, author=MARKUP, body=f"Quoting {MARKUP} here.")

    response = client.get(f"/api/articles/{OPEN}/comments")

    assert_inert(response.content)
    assert b"\\u003cb\\u003eTom \\u0026" in response.content
    (comment,) = response.json()["comments"]
    assert comment["author"] == MARKUP
    assert "&lt;b&gt;Tom &amp;" in comment["body_html"]  # the HTML, itself escaped


def test_counts_errors_and_202_answers_are_inert(client: TestClient) -> None:
    accepted = post(client, body=f"Markup: {MARKUP}")
    counts = client.get("/api/counts", params=[("article", OPEN), ("article", "<x>&")])
    unknown = client.get("/api/articles/<script>&amp;/comments")
    invalid = client.post(f"/api/articles/{OPEN}/comments", json={"author": MARKUP})

    for response in (accepted, counts, unknown, invalid):
        assert_inert(response.content)
    assert counts.json() == {OPEN: 0}
    assert unknown.status_code == 404
    assert "'<script>&amp;'" in unknown.json()["detail"]


def test_status_with_a_staff_message_in_markup_is_inert(client: TestClient) -> None:
    message = "Back at <b>9:00</b> & soon"
    pause.set_paused(client.app.state.database, Actor.operator("test"),  # type: ignore[attr-defined]
                     True, [OPEN], message=message)

    status = client.get("/api/status")
    refused = post(client, body="While paused.")

    for response in (status, refused):
        assert_inert(response.content)
    assert status.json()["pause_message"] == message
    assert refused.status_code == 403


# Error shapes -------------------------------------------------------------------------


def test_unknown_api_path_is_404_in_the_error_shape(any_mount_client: TestClient) -> None:
    for path in ("/api/nothing-here", "/api/articles", f"/api/articles/{OPEN}/comments/1"):
        response = any_mount_client.get(path)
        assert response.status_code == 404, path
        assert assert_error_shape(response)["errors"] == {}


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", f"/api/articles/{OPEN}/comments", "GET, POST"),
    ("DELETE", f"/api/articles/{OPEN}/comments", "GET, POST"),
    ("POST", "/api/counts", "GET"),
    ("PATCH", "/healthz", "GET"),
    ("GET", "/comments", "POST"),
])
def test_wrong_method_is_405_naming_every_allowed_method(
    any_mount_client: TestClient, method: str, path: str, allow: str
) -> None:
    response = any_mount_client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert allow in assert_error_shape(response)["detail"]


@pytest.mark.parametrize("raw", [b"\xff\xfe{", b'{"author": "A"', b"[1, 2]", b"", b"\x00"])
def test_unreadable_body_is_422_for_request(client: TestClient, raw: bytes) -> None:
    response = client.post(f"/api/articles/{OPEN}/comments", content=raw,
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert set(assert_error_shape(response)["errors"]) == {"request"}


def test_broken_multipart_form_is_an_error_in_the_shape(client: TestClient) -> None:
    response = client.post("/comments", content=b"--b\r\nnot a part",
                           headers={"Content-Type": "multipart/form-data; boundary=b"})

    assert response.status_code == 422
    assert set(assert_error_shape(response)["errors"]) == {"request"}


# The OpenAPI document ------------------------------------------------------------------


def test_openapi_states_the_limits_the_service_enforces(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    fields = document["components"]["schemas"]["CommentIn"]["properties"]

    assert (fields["author"]["minLength"], fields["author"]["maxLength"]) == (1, 80)
    assert (fields["body"]["minLength"], fields["body"]["maxLength"]) == (1, 5000)
    assert fields["email"]["format"] == "email" and fields["email"]["maxLength"] == 254
    assert fields["accept_terms"]["const"] is True
    for name in ("author", "body"):
        pattern = re.compile(fields[name]["pattern"])
        assert pattern.match("Ada Reader") and pattern.match("\u4e00\U0001f600"), name
        for refused in ("   ", "\u200b\u2060", "Ada\x00", "\ufeff"):
            assert not pattern.match(refused), (name, refused)
    integer = next(s for s in fields["parent_id"]["anyOf"] if s.get("type") == "integer")
    assert (integer["minimum"], integer["maximum"]) == (1, MAX_ID)
    assert document["components"]["schemas"]["CommentAccepted"]["properties"]["id"] == {
        "type": "integer", "title": "Id", "description": "The new comment's id."}


def test_openapi_documents_every_error_in_our_shape(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    text = json.dumps(document)

    assert "HTTPValidationError" not in text
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith(("4", "5")) and schema:
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (
                        method, path, status)
