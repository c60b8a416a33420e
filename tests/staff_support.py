"""Helpers for the staff-area tests: comment rows, staff accounts, and signing in over HTTP."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import httpx
import pytest
from argon2 import PasswordHasher

from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, StaffUser, utcnow
from comments_service.verbs import accounts, render
from comments_service.verbs.keyring import Keyring

PASSWORD = "correct horse battery staple"
ARTICLE = "therapeutic-impasse"
OTHER_ARTICLE = "ending-therapy-well"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with tiny costs, so tests do not spend seconds hashing on a shared machine.

    Autouse in every test module that imports it; production keeps argon2-cffi's defaults.
    """
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                        parallelism=1))


def keyring_for(database: Database) -> Keyring:
    return Keyring(database.settings.secret())


def add_comment(
    database: Database,
    *,
    body: str = "This article helped me name what was happening.",
    author: str = "Reader One",
    email: str = "reader.one@example.org",
    article_id: str = ARTICLE,
    status: CommentStatus = CommentStatus.PENDING,
    urgent: bool = False,
    parent_id: int | None = None,
    notify: bool = False,
    notified: bool = False,
    ip: str | None = "192.0.2.10",
    created_at: datetime | None = None,
) -> int:
    """Insert a reader's comment as comments.submit would store it; returns its id."""
    keyring = keyring_for(database)
    when = created_at or utcnow()
    with database.write() as session:
        depth = 0
        if parent_id is not None:
            parent = session.get(Comment, parent_id)
            assert parent is not None
            depth = parent.depth + 1
        comment = Comment(
            article_id=article_id, parent_id=parent_id, depth=depth, author_name=author,
            email_encrypted=keyring.encrypt_email(email) if email else "",
            email_hash=keyring.email_hash(email) if email else "",
            body=body, body_html=render.render_comment(body),
            body_hash=hashlib.sha256(body.encode()).hexdigest(), status=status, urgent=urgent,
            created_at=when, updated_at=when, ip_hash=keyring.ip_hash(ip) if ip else None,
            notify=notify, notified=notified,
        )
        session.add(comment)
        session.flush()
        return comment.id


def get_comment(database: Database, comment_id: int) -> Comment:
    with database.read() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        return comment


def make_staff(database: Database, username: str = "mod", *, role: str = "moderator",
               display_name: str = "Sam from the editorial team",
               signature: str = "Sam, for the editorial team") -> StaffUser:
    return accounts.create_staff(database, username, PASSWORD, display_name=display_name,
                             signature=signature, role=role)


_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


class AuthActions:
    """Signs a test client in and out of the staff area, like flaskr's AuthActions."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.csrf = ""

    def sign_in(self, username: str = "mod", password: str = PASSWORD) -> httpx.Response:
        page = self.client.get("/staff/sign-in")
        response = self.client.post(
            "/staff/sign-in",
            data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        )
        if response.status_code == 303:
            self.csrf = csrf_from(self.client.get("/staff/").text)
        return response

    def post(self, url: str, data: dict[str, object] | None = None,
             **kwargs: object) -> httpx.Response:
        """A POST carrying this session's CSRF token."""
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})},
                                **kwargs)  # type: ignore[arg-type]

    def sign_out(self) -> httpx.Response:
        return self.post("/staff/sign-out")
