"""Helpers for the spam, blocklist and trust tests: the fixture decisions and staff clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from service_support import OPEN, app_client
from staff_support import AuthActions, add_comment, make_staff

from comments_service.config import Settings
from comments_service.store.database import Database

FIXTURE = Path(__file__).resolve().parent / "data" / "spam" / "decisions.jsonl"


def decisions(label: str) -> list[dict[str, str]]:
    """The fixture's comments with one label ("ham" or "spam"), in file order."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [row for row in rows if row["label"] == label]


@contextmanager
def staff_app(settings: Settings, role: str = "moderator") -> Iterator[tuple[TestClient,
                                                                             AuthActions]]:
    """A client on a fresh app with a signed-in staff member of the given role."""
    with app_client(settings) as client:
        client.follow_redirects = False
        make_staff(client.app.state.database, role=role)  # type: ignore[attr-defined]
        auth = AuthActions(client)
        assert auth.sign_in().status_code == 303
        yield client, auth


def add_fixture_comments(database: Database, label: str, count: int,
                         offset: int = 0) -> list[int]:
    """Store ``count`` pending comments from the fixture, each from its own fictional reader."""
    ids = []
    for n, row in enumerate(decisions(label)[offset:offset + count]):
        ids.append(add_comment(database, body=row["body"], author=row["author"],
                               email=f"{label}.{offset + n}@example.org", article_id=OPEN))
    return ids


def decide(auth: AuthActions, action: str, ids: list[int]) -> None:
    """A staff bulk action from the queue, over HTTP."""
    response = auth.post("/staff/actions", {"action": action, "ids": [str(i) for i in ids],
                                            "back": "/staff/"})
    assert response.status_code == 303, response.text
