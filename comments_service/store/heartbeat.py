"""The health check's probe: one real read and one real, committed write.

A write inside a transaction that is rolled back proves nothing on SQLite: in WAL mode
pages reach the disk only at commit, so on a full disk ``BEGIN IMMEDIATE`` + INSERT +
ROLLBACK still succeeds while every comment post fails with "database or disk is full"
(measured on a full tmpfs). So the probe commits: it upserts one heartbeat row in
``thread_versions`` under an id no article can have (article ids are lowercase letters,
digits and hyphens), which leaves one row behind however often it runs.
"""

from __future__ import annotations

from sqlalchemy import text

from comments_service.store.database import Database
from comments_service.store.models import ThreadVersion, utcnow

HEARTBEAT_ID = "_healthz"


def probe_read(database: Database) -> None:
    """Read the comments table; raises what the database does."""
    with database.read() as session:
        # A table, not SELECT 1: that never reads the file, so a pooled SQLite connection
        # answers it even when the database file is damaged.
        session.execute(text("SELECT 1 FROM comments LIMIT 1"))


def probe_write(database: Database) -> None:
    """Commit the heartbeat write; raises what the database does."""
    now = utcnow()
    if database.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    statement = insert(ThreadVersion).values(article_id=HEARTBEAT_ID, version=0,
                                             updated_at=now)
    with database.write() as session:
        session.execute(statement.on_conflict_do_update(
            index_elements=[ThreadVersion.article_id], set_={"updated_at": now}))
