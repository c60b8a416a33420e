"""Helpers for the export, restore, backup and migrate tests: a populated library, the CLI."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from service_support import OPEN, OTHER, app_client, post, service_env

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import EmailSubscriber, OutboxMail
from comments_service.verbs import accounts, privacy
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation

PASSWORD = "correct horse battery staple"
ROBIN_EMAIL = "robin.ellis@example.org"


@dataclass(frozen=True)
class Library:
    """What populate() stored, for tests to look for after a round trip."""

    approved: int
    pending: int
    reply_to: int
    staff_reply: int
    erased_kept: int
    erased_removed: int
    subscribed_email: str


def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run comments-service in this process with the settings' environment."""
    capsys.readouterr()
    with monkeypatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("COMMENTS_")]:
            patch.delenv(name)
        for name, value in service_env(settings).items():
            if name.startswith("COMMENTS_"):
                patch.setenv(name, value)
        code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@contextmanager
def opened(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


def populate(settings: Settings) -> Library:
    """A library with comments in every status, staff replies, templates, subscriptions,
    audit entries, an urgent comment, erased comments and a queued mail, made through the
    app over HTTP and the staff verbs."""
    with app_client(settings) as client:
        database: Database = client.app.state.database  # type: ignore[attr-defined]
        keyring = Keyring(settings.secret())
        ids = []
        for n in range(7):
            response = post(client, OPEN if n % 2 == 0 else OTHER, author=f"Reader {n}",
                            email=f"reader{n}@example.org",
                            body=f"Comment number {n}: naming the impasse helped me.")
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        urgent = post(client, OPEN, author="Night Owl", email="owl@example.org",
                      body="Some nights I feel I can't go on.")
        assert urgent.status_code == 202, urgent.text
        admin = accounts.create_staff(database, "robin", PASSWORD, display_name="Robin Ellis",
                                      signature="Robin, for the editorial team", role="admin",
                                      email=ROBIN_EMAIL)
        accounts.create_staff(database, "sam", PASSWORD, display_name="Sam Example",
                              role="moderator")
        moderation = Moderation(database, keyring)
        actor = Actor.staff(admin)
        moderation.approve(ids[0], actor)
        moderation.reject(ids[1], actor)
        moderation.mark_spam(ids[2], actor)
        moderation.delete(ids[3], actor)
        moderation.approve(ids[5], actor)
        moderation.edit(ids[5], "Comment number 5: [name removed] helped me.", actor)
        reply = moderation.reply_as_staff(ids[0], admin.id, "Thank you for writing to us.")
        reader_reply = post(client, OPEN, parent_id=ids[0], author="Reader 0",
                            email="reader0@example.org", body="Thank you for answering!")
        assert reader_reply.status_code == 202, reader_reply.text
        moderation.save_template(actor, "Welcome back", "Good to hear from you again.")
        moderation.approve(ids[6], actor)
        operator = Actor.operator("test")
        privacy.erase_by_email(database, keyring, "reader6@example.org", operator,
                               keep_text=True)
        privacy.erase_by_email(database, keyring, "reader4@example.org", operator,
                               keep_text=False)
        with database.write() as session:
            session.add(EmailSubscriber(email_hash=keyring.email_hash("reader0@example.org"),
                                        confirmed=True))
            session.add(OutboxMail(kind="test", subject="Queued", body="Not carried.",
                                   recipient_encrypted=keyring.encrypt_email(
                                       "reader0@example.org")))
    return Library(approved=ids[0], pending=reader_reply.json()["id"], reply_to=ids[0],
                   staff_reply=reply.id, erased_kept=ids[6], erased_removed=ids[4],
                   subscribed_email="reader0@example.org")


@contextmanager
def extra_pg_database(pg_server: str) -> Iterator[str]:
    """Another fresh PostgreSQL database (a restore's target), dropped afterwards."""
    name = f"comments_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
