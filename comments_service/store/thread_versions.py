"""Thread versions: the one call every write makes so caches and baked pages follow it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.store.models import BakeRequest, ThreadVersion, utcnow


def touch_thread(session: Session, article_id: str) -> None:
    """Mark an article's public thread as changed, inside the caller's write transaction.

    Bumps the article's version (every process's JSON cache compares against it) and queues
    a re-bake of its static page. Call it from every verb that can change what the public
    sees: approve, reject, delete, edit, staff reply, erasure.
    """
    now = utcnow()
    insert = _insert_for(session)
    # Upserts, so two processes touching a new article at once cannot collide on the key.
    version_stmt = insert(ThreadVersion).values(article_id=article_id, version=1, updated_at=now)
    session.execute(
        version_stmt.on_conflict_do_update(
            index_elements=[ThreadVersion.article_id],
            set_={"version": ThreadVersion.version + 1, "updated_at": now},
        )
    )
    bake_stmt = insert(BakeRequest).values(article_id=article_id, requested_at=now)
    session.execute(
        bake_stmt.on_conflict_do_update(
            index_elements=[BakeRequest.article_id], set_={"requested_at": now}
        )
    )


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    # Imported here: the PostgreSQL dialect is several MB per process, never used on SQLite.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def thread_version(session: Session, article_id: str) -> int:
    """The article's current thread version (0 before its first change)."""
    version = session.scalar(
        select(ThreadVersion.version).where(ThreadVersion.article_id == article_id)
    )
    return version or 0
