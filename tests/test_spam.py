"""Spam defences: honeypot, form timing token, link cap, duplicates, per-IP rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import OPEN, OTHER, app_client, post, with_docs
from sqlalchemy import func, select, update

from comments_service.config import Settings
from comments_service.store.models import Comment, utcnow
from comments_service.verbs import spam
from comments_service.verbs.keyring import Keyring

KEY = b"k" * 32


@pytest.fixture
def client(backend_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=3,
                         rate_limit_window_seconds=600)
    with app_client(settings) as test_client:
        yield test_client


def count(client: TestClient) -> int:
    with client.app.state.database.read() as session:
        return session.scalar(select(func.count(Comment.id)))


def test_honeypot_is_accepted_silently_and_nothing_is_stored(client: TestClient) -> None:
    response = post(client, website="https://spam.example")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    # An id like a real post's (see test_hostile_input.py), naming nothing stored.
    assert isinstance(response.json()["id"], int)
    assert count(client) == 0


def test_links_over_the_cap_are_refused_naming_the_body(client: TestClient) -> None:
    links = " ".join(f"https://example.org/{i}" for i in range(4))

    response = post(client, body=f"Look: {links}")

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"body"}
    assert count(client) == 0


def test_links_up_to_the_cap_are_fine(client: TestClient) -> None:
    links = " ".join(f"https://example.org/{i}" for i in range(3))
    assert post(client, body=f"Look: {links}").status_code == 202


def test_bare_www_addresses_count_as_links() -> None:
    assert spam.count_links("see www.example.org and https://example.net/x") == 2


def test_duplicate_body_on_the_same_article_is_refused(client: TestClient) -> None:
    assert post(client, body="Exactly the same words.").status_code == 202

    again = post(client, body="  exactly   THE same words.  ", author="Someone Else")

    assert again.status_code == 409
    assert set(again.json()["errors"]) == {"body"}
    assert count(client) == 1


def test_same_body_on_another_article_is_fine(client: TestClient) -> None:
    assert post(client, OPEN, body="Same words, two articles.").status_code == 202
    assert post(client, OTHER, body="Same words, two articles.").status_code == 202


def test_rate_limit_answers_429_with_retry_after(client: TestClient) -> None:
    for i in range(3):
        assert post(client, body=f"comment number {i}").status_code == 202

    response = post(client, body="one too many")

    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 590 <= retry_after <= 600
    assert "try again" in response.json()["detail"]
    assert count(client) == 3


def test_rate_limit_frees_up_when_the_window_has_passed(client: TestClient) -> None:
    for i in range(3):
        post(client, body=f"comment number {i}")
    with client.app.state.database.write() as session:
        session.execute(update(Comment).values(created_at=utcnow() - timedelta(seconds=601)))

    assert post(client, body="after the window").status_code == 202


def test_rate_limit_is_per_address(backend_settings: Settings, tmp_path: Path) -> None:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=1)
    with app_client(settings, client_ip="203.0.113.1") as first:
        assert post(first, body="from the first address").status_code == 202
        assert post(first, body="again from the first").status_code == 429
    with app_client(settings, client_ip="203.0.113.2") as second:
        assert post(second, body="from the second address").status_code == 202


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
    backend_settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=1,
                         trusted_proxies=["10.0.0.1"])
    with app_client(settings, client_ip="203.0.113.9") as client:
        first = client.post(f"/api/articles/{OPEN}/comments",
                            json={"author": "A", "email": "a@example.org", "body": "one",
                                  "accept_terms": True},
                            headers={"X-Forwarded-For": "192.0.2.1"})
        second = client.post(f"/api/articles/{OPEN}/comments",
                             json={"author": "A", "email": "a@example.org", "body": "two",
                                   "accept_terms": True},
                             headers={"X-Forwarded-For": "192.0.2.2"})

        assert first.status_code == 202
        assert second.status_code == 429
        with client.app.state.database.read() as session:
            (ip_hash,) = session.scalars(select(Comment.ip_hash)).all()
        assert ip_hash == Keyring(settings.secret()).ip_hash("203.0.113.9")


def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    backend_settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=1,
                         trusted_proxies=["127.0.0.1"])
    with app_client(settings, client_ip="127.0.0.1") as client:
        for n, ip in enumerate(("192.0.2.1", "192.0.2.2")):
            response = client.post(
                f"/api/articles/{OPEN}/comments",
                json={"author": "A", "email": "a@example.org", "body": f"from {ip}",
                      "accept_terms": True},
                headers={"X-Forwarded-For": f"6.6.6.{n}, {ip}"},
            )
            assert response.status_code == 202
        with client.app.state.database.read() as session:
            hashes = set(session.scalars(select(Comment.ip_hash)))
        keyring = Keyring(settings.secret())
        assert hashes == {keyring.ip_hash("192.0.2.1"), keyring.ip_hash("192.0.2.2")}


@pytest.mark.parametrize(("peer", "header", "trusted", "expected"), [
    ("203.0.113.5", "192.0.2.1", [], "203.0.113.5"),
    ("127.0.0.1", "192.0.2.1", ["127.0.0.1"], "192.0.2.1"),
    ("127.0.0.1", "198.51.100.1, 192.0.2.1", ["127.0.0.1"], "192.0.2.1"),
    ("10.0.0.7", "192.0.2.1, 10.0.0.3", ["10.0.0.0/8"], "192.0.2.1"),
    ("127.0.0.1", "not-an-ip", ["127.0.0.1"], "127.0.0.1"),
    ("127.0.0.1", None, ["127.0.0.1"], "127.0.0.1"),
    ("::1", "2001:db8::1", ["::1"], "2001:db8::1"),
])
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    peer: str, header: str | None, trusted: list[str], expected: str
) -> None:
    assert spam.client_ip(peer, header, trusted) == expected


def test_form_token_accepts_a_form_rendered_long_enough_ago() -> None:
    token = spam.form_token(KEY, OPEN, now=1000)
    assert spam.check_form_token(KEY, token, OPEN, 3, 3600, now=1005).ok


@pytest.mark.parametrize(("token_args", "check_now", "article", "reason"), [
    ((KEY, OPEN, 1000), 1001, OPEN, "too-fast"),
    ((KEY, OPEN, 1000), 1000 + 3601, OPEN, "expired"),
    ((KEY, OPEN, 1000), 1005, OTHER, "invalid"),
    ((b"x" * 32, OPEN, 1000), 1005, OPEN, "invalid"),
])
def test_form_token_refuses_fast_old_foreign_or_forged_tokens(
    token_args: tuple, check_now: float, article: str, reason: str
) -> None:
    token = spam.form_token(*token_args[:2], now=token_args[2])
    check = spam.check_form_token(KEY, token, article, 3, 3600, now=check_now)
    assert (check.ok, check.reason) == (False, reason)


@pytest.mark.parametrize("token", [None, "", "garbage", "bm90OmEtdG9rZW4", 12])
def test_form_token_refuses_missing_or_garbled_tokens(token: object) -> None:
    check = spam.check_form_token(KEY, token, OPEN, 3, 3600, now=time.time())
    assert not check.ok and check.reason in {"missing", "invalid"}
