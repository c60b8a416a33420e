"""The rate limit tells apart readers behind one shared address (a clinic, a library).

Counted per address and email together (COMMENTS_RATE_LIMIT_COUNT), with a higher ceiling
per address alone (COMMENTS_RATE_LIMIT_ADDRESS_COUNT); both in the one guarded INSERT.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import app_client, post, with_docs
from sqlalchemy import func, select

from comments_service.config import Settings
from comments_service.store.models import Comment

LIBRARY = "203.0.113.40"


@pytest.fixture
def library(backend_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=2,
                         rate_limit_address_count=5, rate_limit_window_seconds=600)
    with app_client(settings, client_ip=LIBRARY) as client:
        yield client


def stored(client: TestClient) -> int:
    with client.app.state.database.read() as session:
        return session.scalar(select(func.count(Comment.id)))


def test_readers_sharing_an_address_each_get_their_own_allowance(library: TestClient) -> None:
    for reader in ("ash", "bo"):
        for n in range(2):
            response = post(library, email=f"{reader}@example.org",
                            body=f"{reader} writes comment {n}.")
            assert response.status_code == 202, response.text
    assert stored(library) == 4


def test_one_reader_is_still_limited_on_a_shared_address(library: TestClient) -> None:
    for n in range(2):
        assert post(library, email="ash@example.org", body=f"Comment {n}.").status_code == 202
    refused = post(library, email="ash@example.org", body="A third one.")
    assert refused.status_code == 429
    assert 590 <= int(refused.headers["retry-after"]) <= 600
    # The same person cannot get round it by changing the case of their address.
    assert post(library, email="ASH@example.org", body="A fourth one.").status_code == 429
    assert post(library, email="bo@example.org", body="Someone else.").status_code == 202


def test_the_address_as_a_whole_has_a_higher_ceiling(library: TestClient) -> None:
    answers = [post(library, email=f"reader{n}@example.org", body=f"Comment {n}.").status_code
               for n in range(6)]
    assert answers == [202] * 5 + [429]
    assert stored(library) == 5


def test_the_honeypot_answers_the_same_limits(library: TestClient) -> None:
    for n in range(2):
        post(library, email="ash@example.org", body=f"Comment {n}.")
    bot = post(library, email="ash@example.org", body="Bot text.", website="x")
    assert bot.status_code == 429
