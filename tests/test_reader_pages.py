"""The service's no-JavaScript reader pages look like the site: its name, terms, stylesheet.

Through the real app over HTTP: the form page after an error, the reply page, the report
page and the full thread's page each carry the site's header (its name, linking home), the
terms of use, and the reader stylesheet, which their Content-Security-Policy allows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, with_docs

from comments_service.config import Settings
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import spam
from comments_service.verbs.render import render_comment

SITE = "https://articles.example/library/"
TOO_QUICK = "Please wait a few seconds and send again — this stops automated spam."


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    reader_settings = with_docs(settings, tmp_path, site_url=SITE, min_submit_seconds=5,
                                site_name="Riverside Reading Room")
    with app_client(reader_settings) as test_client:
        yield test_client


def approved_comment(client: TestClient) -> int:
    with client.app.state.database.write() as session:  # type: ignore[attr-defined]
        comment = Comment(article_id=OPEN, author_name="Noor", body="A kind word.",
                          body_html=render_comment("A kind word."),
                          status=CommentStatus.APPROVED)
        session.add(comment)
        session.flush()
        return comment.id


def post(client: TestClient, token_age: float, **overrides: str) -> httpx.Response:
    token = spam.form_token(client.app.state.keyring.signing_key,  # type: ignore[attr-defined]
                            OPEN, now=time.time() - token_age)
    data = {"article_id": OPEN, "return_to": f"{SITE}{OPEN}/", "author": "Noor",
            "email": "noor@example.org", "body": "Thank you.", "accept_terms": "yes",
            "form_token": token, **overrides}
    return client.post("/comments", data=data, follow_redirects=False)


def reader_pages(client: TestClient) -> dict[str, httpx.Response]:
    """One of each reader page the service answers."""
    comment_id = approved_comment(client)
    return {
        "form error": post(client, token_age=60, body=""),
        "reply": client.get(f"/comments/{OPEN}/reply/{comment_id}"),
        "report": client.get(f"/comments/{comment_id}/report"),
        "thread": client.get(f"/comments/{OPEN}"),
    }


def test_every_reader_page_has_the_site_name_linking_home_and_the_terms(
        client: TestClient) -> None:
    for name, response in reader_pages(client).items():
        assert response.status_code in (200, 422), name
        page = BeautifulSoup(response.text, "html5lib")
        home = page.select_one("header a")
        assert home is not None and home.get_text() == "Riverside Reading Room", name
        assert home["href"] == SITE, name
        terms = page.select_one(f'footer a[href="{SITE}terms/"]')
        assert terms is not None and terms.get_text() == "Terms of use", name


def test_every_reader_page_uses_the_reader_stylesheet_its_policy_allows(
        client: TestClient) -> None:
    for name, response in reader_pages(client).items():
        page = BeautifulSoup(response.text, "html5lib")
        link = page.select_one('link[rel="stylesheet"]')
        assert link is not None, name
        policy = response.headers["content-security-policy"]
        assert "style-src 'self'" in policy and "'unsafe-inline'" not in policy, name
        stylesheet = client.get(link["href"])
        assert stylesheet.status_code == 200, name
        assert stylesheet.headers["content-type"].startswith("text/css")
        # The site's palette (Material's indigo) and its system font stack.
        assert "#4051b5" in stylesheet.text and "-apple-system" in stylesheet.text


def test_a_too_quick_send_says_why_and_keeps_the_text(client: TestClient) -> None:
    response = post(client, token_age=1, body="Typed fast, sent faster.")

    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html5lib")
    assert TOO_QUICK in page.select_one("#summary").get_text()
    assert page.select_one("#field-body").get_text() == "Typed fast, sent faster."


def test_other_refusals_do_not_blame_speed(client: TestClient) -> None:
    expired = post(client, token_age=10**7)
    missing = post(client, token_age=60, form_token="")
    invalid_fields = post(client, token_age=60, email="not an address")

    for response in (expired, missing, invalid_fields):
        assert response.status_code == 422
        assert TOO_QUICK not in response.text
