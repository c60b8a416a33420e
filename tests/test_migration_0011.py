"""Migration 0011 (webhook deliveries, reader reports): existing data survives both ways."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config, migrate_to, upgrade


def test_0011_downgrades_alone_and_upgrades_again_keeping_queued_mail(
    backend_settings: Settings,
) -> None:
    database = Database(backend_settings)
    try:
        migrate_to(database, "0008")  # a database from before these features
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO outbox (kind, recipient_encrypted, subject, body, "
                "unsubscribe_url, status, attempts, next_attempt_at, last_error, created_at) "
                "VALUES ('moderator_digest', 'x', 'Waiting', 'Body', '', 'pending', 0, "
                "CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP)"))
        upgrade(database)
        with database.engine.connect() as connection:
            row = connection.execute(text("SELECT channel, endpoint FROM outbox")).one()
        assert tuple(row) == ("mail", "")
        assert inspect(database.engine).has_table("comment_reports")
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO outbox (kind, channel, endpoint, recipient_encrypted, subject, "
                "body, unsubscribe_url, status, attempts, next_attempt_at, last_error, "
                "created_at) VALUES ('webhook:comment.pending', 'webhook', 'ops', '', 'S', "
                "'{}', '', 'pending', 0, CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP)"))

        # Only this branch goes down; the mail is kept, the webhook delivery goes with it.
        command.downgrade(alembic_config(database), "0011-1")
        inspector = inspect(database.engine)
        assert not inspector.has_table("comment_reports")
        assert "channel" not in {c["name"] for c in inspector.get_columns("outbox")}
        assert "hidden_by_reports" not in {c["name"] for c in inspector.get_columns("comments")}
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT kind FROM outbox")).scalars().all() == [
                "moderator_digest"]
        upgrade(database)
        assert inspect(database.engine).has_table("comment_reports")
    finally:
        database.dispose()
