"""Approved counts per article, kept by database triggers whatever writes the comments.

The counts answer reads article_counts (migration 0014); these tests write comments the
ways the service does (inserts, status changes, moves, deletes, concurrent posts on
PostgreSQL) and compare it with counting the comments themselves.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, update

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import migrate_to, upgrade
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import public_threads

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ARTICLES = ("first-article", "second-article", "third-article")


@pytest.fixture
def database(backend_database: Database) -> Database:
    """Every test here runs on both backends."""
    return backend_database


def _add(database: Database, article: str, status: CommentStatus) -> int:
    with database.write() as session:
        return session.execute(insert(Comment.__table__).values(
            article_id=article, author_name="Reader", body="Text.", body_html="<p>Text.</p>",
            status=status, created_at=AT, updated_at=AT,
        ).returning(Comment.__table__.c.id)).scalar_one()


def _counted(database: Database) -> dict[str, int]:
    """The counts as the service answers them, and as counting the comments gives them."""
    with database.read() as session:
        answered = public_threads.counts(session, ARTICLES)
        rows = session.execute(select(Comment.article_id, func.count()).where(
            Comment.status == CommentStatus.APPROVED).group_by(Comment.article_id)).all()
    assert answered == {a: dict(rows).get(a, 0) for a in ARTICLES}
    return answered


def test_counts_follow_inserts_status_changes_moves_and_deletes(database: Database) -> None:
    first, second, third = ARTICLES
    ids = [_add(database, first, status) for status in CommentStatus]
    ids += [_add(database, second, CommentStatus.APPROVED) for _ in range(3)]
    assert _counted(database) == {first: 1, second: 3, third: 0}

    with database.write() as session:
        # Pending -> approved, approved -> rejected, approved -> approved (no change).
        session.execute(update(Comment).where(Comment.id == ids[0])
                        .values(status=CommentStatus.APPROVED))
        session.execute(update(Comment).where(Comment.id == ids[1])
                        .values(status=CommentStatus.REJECTED))
        session.execute(update(Comment).where(Comment.id == ids[5])
                        .values(status=CommentStatus.APPROVED, body="Edited."))
    assert _counted(database) == {first: 1, second: 3, third: 0}

    with database.write() as session:
        # A move to another article, and a move with a status change at once.
        session.execute(update(Comment).where(Comment.id == ids[5]).values(article_id=third))
        session.execute(update(Comment).where(Comment.id == ids[2])
                        .values(article_id=third, status=CommentStatus.APPROVED))
        session.execute(delete(Comment).where(Comment.id.in_([ids[6], ids[3]])))
    assert _counted(database) == {first: 1, second: 1, third: 2}

    with database.write() as session:
        session.execute(update(Comment).values(status=CommentStatus.SPAM))
    assert _counted(database) == {first: 0, second: 0, third: 0}


def test_the_migration_counts_the_comments_already_stored(backend_settings: Settings) -> None:
    database = Database(backend_settings)
    try:
        migrate_to(database, "0013")
        for n, status in enumerate([*CommentStatus, CommentStatus.APPROVED]):
            _add(database, ARTICLES[n % 2], status)
        migrate_to(database, "heads")
        assert _counted(database) == {ARTICLES[0]: 0, ARTICLES[1]: 2, ARTICLES[2]: 0}
    finally:
        database.dispose()


@pytest.mark.postgres
def test_concurrent_posts_and_approvals_on_postgresql_all_count(
        pg_database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_settings

    database = Database(make_settings(tmp_path, database_url=pg_database_url))
    upgrade(database)
    pending = [_add(database, ARTICLES[0], CommentStatus.PENDING) for _ in range(40)]
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            for k in range(10):
                if k % 2:
                    _add(database, ARTICLES[0], CommentStatus.APPROVED)
                else:
                    with database.write() as session:
                        session.execute(update(Comment).where(
                            Comment.id == pending[n * 5 + k // 2])
                            .values(status=CommentStatus.APPROVED))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not failures
        assert _counted(database)[ARTICLES[0]] == 80
    finally:
        database.dispose()
