"""The no-JavaScript form endpoint: POST /comments answers a redirect or an HTML form page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import CLOSED, HIDDEN, OPEN, app_client, with_docs
from sqlalchemy import select

from comments_service.config import Settings
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import spam

SITE = "https://articles.example/library/"
ARTICLE_URL = f"{SITE}{OPEN}/"


@pytest.fixture
def form_settings(settings: Settings, tmp_path: Path) -> Settings:
    return with_docs(settings, tmp_path, site_url=SITE, min_submit_seconds=3)


@pytest.fixture
def client(form_settings: Settings) -> Iterator[TestClient]:
    with app_client(form_settings) as test_client:
        yield test_client


def aged_token(client: TestClient, article_id: str = OPEN, age: float = 60) -> str:
    return spam.form_token(client.app.state.keyring.signing_key, article_id,
                           now=time.time() - age)


def fields(client: TestClient, **overrides: Any) -> dict[str, str]:
    data = {
        "article_id": OPEN,
        "return_to": ARTICLE_URL,
        "author": "Noor Reader",
        "email": "noor@example.org",
        "body": "Thank you, this was useful.",
        "parent_id": "",
        "accept_terms": "yes",
        "website": "",
        "form_token": aged_token(client),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def send(client: TestClient, **overrides: Any) -> httpx.Response:
    return client.post("/comments", data=fields(client, **overrides), follow_redirects=False)


def stored(client: TestClient) -> list[Comment]:
    with client.app.state.database.read() as session:
        return list(session.scalars(select(Comment).order_by(Comment.id)))


def page(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html5lib")


def test_success_redirects_303_to_the_article_with_the_pending_notice(client: TestClient) -> None:
    response = send(client)

    assert response.status_code == 303
    assert response.headers["location"] == f"{ARTICLE_URL}?comment=pending#comment-pending"
    (comment,) = stored(client)
    assert comment.status == CommentStatus.PENDING
    assert comment.author_name == "Noor Reader"


def test_query_of_return_to_is_kept(client: TestClient) -> None:
    response = send(client, return_to=f"{ARTICLE_URL}?lang=en&comment=old#top")
    assert response.headers["location"] == (
        f"{ARTICLE_URL}?lang=en&comment=pending#comment-pending")


def test_name_field_is_accepted_for_the_author(client: TestClient) -> None:
    response = send(client, author=None, name="Named Field")
    assert response.status_code == 303
    assert stored(client)[0].author_name == "Named Field"


def test_checkboxes_and_reply_fields_are_understood(client: TestClient) -> None:
    send(client, notify="on", body="First.")
    parent = stored(client)[0]
    with client.app.state.database.write() as session:
        session.get(Comment, parent.id).status = CommentStatus.APPROVED

    response = send(client, parent_id=str(parent.id), body="A reply.")

    assert response.status_code == 303
    first, reply = stored(client)
    assert first.notify is True
    assert reply.parent_id == parent.id and reply.notify is False


def test_urgent_comment_redirects_with_comment_urgent(client: TestClient) -> None:
    response = send(client, body="I have been thinking about suicide.")
    assert response.headers["location"] == f"{ARTICLE_URL}?comment=urgent#comment-urgent"
    assert stored(client)[0].urgent is True


@pytest.mark.parametrize("return_to", [
    "https://evil.example/",
    "//evil.example/library/",
    "/\\evil.example/",
    "https://articles.example.evil.example/library/x/",
    "https://articles.example/other-site/",
    "https://articles.example/library/../admin/",
    "javascript:alert(1)",
    "http://articles.example/library/x/",
    "",
])
def test_return_to_outside_the_site_falls_back_to_the_article(
    client: TestClient, return_to: str
) -> None:
    response = send(client, return_to=return_to)

    assert response.status_code == 303
    assert response.headers["location"] == f"{ARTICLE_URL}?comment=pending#comment-pending"


def test_site_relative_return_to_is_accepted(client: TestClient) -> None:
    response = send(client, return_to="/library/other-article/")
    assert response.headers["location"] == (
        "https://articles.example/library/other-article/?comment=pending#comment-pending")


def test_errors_show_next_to_each_field_and_keep_what_was_typed(client: TestClient) -> None:
    typed = "My <b>long</b> comment\nwith two lines & an ampersand"
    response = send(client, author="", email="not-an-email", body=typed, notify="yes",
                    accept_terms=None)

    assert response.status_code == 422
    soup = page(response)
    assert soup.find(id="error-author").get_text(strip=True) == "Name is required."
    assert "valid address" in soup.find(id="error-email").get_text()
    assert soup.find(id="error-accept_terms") is not None
    assert soup.find(id="field-author")["aria-invalid"] == "true"
    assert "error-email" in soup.find(id="field-email")["aria-describedby"]
    assert soup.find(id="field-email")["value"] == "not-an-email"
    assert soup.find(id="field-body").get_text() == typed
    assert soup.find(id="field-notify").has_attr("checked")
    assert not soup.find(id="field-accept_terms").has_attr("checked")
    assert soup.find("input", attrs={"name": "return_to"})["value"] == ARTICLE_URL
    assert "<b>long</b>" not in response.text
    assert soup.find(attrs={"role": "alert"}) is not None
    assert stored(client) == []


def test_error_page_carries_a_fresh_token_that_works_once_old_enough(
    client: TestClient, form_settings: Settings
) -> None:
    response = send(client, form_token=None)

    assert response.status_code == 422
    soup = page(response)
    token = soup.find("input", attrs={"name": "form_token"})["value"]
    assert "not been sent yet" in response.text
    assert soup.find(id="field-body").get_text() == "Thank you, this was useful."
    assert stored(client) == []
    # The new token is valid, but only once the minimum time has passed.
    keyring = client.app.state.keyring
    assert spam.check_form_token(keyring.signing_key, token, OPEN, 3, 3600).reason == "too-fast"
    assert spam.check_form_token(keyring.signing_key, token, OPEN, 3, 3600,
                                 now=time.time() + 5).ok


@pytest.mark.parametrize("token_age", [0, 1])
def test_submitting_too_soon_after_render_is_refused(client: TestClient, token_age: int) -> None:
    response = send(client, form_token=aged_token(client, age=token_age))
    assert response.status_code == 422
    assert stored(client) == []


def test_expired_token_is_refused(client: TestClient, form_settings: Settings) -> None:
    old = aged_token(client, age=form_settings.form_token_max_age_seconds + 10)
    assert send(client, form_token=old).status_code == 422


def test_honeypot_redirects_as_success_and_stores_nothing(client: TestClient) -> None:
    response = send(client, website="http://spam.example")
    assert response.status_code == 303
    assert response.headers["location"] == send(client, body="A real comment.").headers[
        "location"]
    assert [c.body for c in stored(client)] == ["A real comment."]


def test_honeypot_without_a_token_is_refused_like_a_real_post(client: TestClient) -> None:
    trapped = send(client, website="http://spam.example", form_token=None)
    real = send(client, form_token=None)
    assert trapped.status_code == real.status_code == 422
    assert stored(client) == []


def test_unknown_article_is_a_404_page(client: TestClient) -> None:
    response = send(client, article_id="no-such-article")
    assert response.status_code == 404
    assert page(response).find("form") is None


@pytest.mark.parametrize("article_id", [CLOSED, HIDDEN])
def test_closed_or_hidden_article_is_a_403_page(client: TestClient, article_id: str) -> None:
    response = send(client, article_id=article_id, form_token=aged_token(client, article_id),
                    return_to="")
    assert response.status_code == 403
    assert stored(client) == []
    link = page(response).find("a", string="Back to the article")["href"]
    assert link == f"{SITE}{article_id}/"


def test_rate_limit_is_a_429_page_with_retry_after(settings: Settings, tmp_path: Path) -> None:
    limited = with_docs(settings, tmp_path, site_url=SITE, rate_limit_count=1)
    with app_client(limited) as client:
        assert send(client, body="first").status_code == 303
        response = send(client, body="second")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert page(response).find(id="field-body").get_text() == "second"


def test_oversized_form_is_413(settings: Settings, tmp_path: Path) -> None:
    small = with_docs(settings, tmp_path, site_url=SITE, max_body_bytes=1000)
    with app_client(small) as client:
        response = send(client, body="x" * 2000)
        assert response.status_code == 413
        assert stored(client) == []

