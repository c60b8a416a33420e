"""A page read by the database's paging answers the bytes of the page cut from the whole thread.

The thread mixes what moves comments about: replies under replies, replies to unpublished
comments (shown under the nearest published ancestor, or top-level), top-level comments in
the same second whose microseconds run against their ids, staff replies, erased authors,
content notes, and another article's comments beside it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, StaffRole, StaffUser
from comments_service.verbs import json_bytes, public_threads, thread_pages, thread_query
from comments_service.verbs.thread_cache import ThreadCache

ARTICLE = "paged-article"
OTHER = "beside-article"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
A, P, R, S, D = (CommentStatus.APPROVED, CommentStatus.PENDING, CommentStatus.REJECTED,
                 CommentStatus.SPAM, CommentStatus.DELETED)


@pytest.fixture
def database(backend_database: Database) -> Database:
    """Every test here runs on both backends."""
    return backend_database


class _Writer:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.ids: list[int] = []

    def add(self, status: CommentStatus, at: datetime, parent: int | None = None,
            article: str = ARTICLE, **extra: object) -> int:
        table = Comment.__table__
        with self.database.write() as session:
            new_id = session.execute(insert(table).values(
                article_id=article, parent_id=parent, depth=0 if parent is None else 1,
                author_name=f"Reader {len(self.ids)}", body=f"Comment {len(self.ids)}.",
                body_html=f"<p>Comment {len(self.ids)} &amp; more.</p>", status=status,
                created_at=at, updated_at=at, **extra,
            ).returning(table.c.id)).scalar_one()
        self.ids.append(new_id)
        return new_id


def _seed(database: Database) -> list[int]:
    with database.write() as session:
        staff = StaffUser(username="robin", display_name="Robin (team)", signature="Team",
                          role=StaffRole.MODERATOR, password_hash="x")
        session.add(staff)
        session.flush()
        staff_id = staff.id
    w = _Writer(database)
    for n in range(14):
        at = START + timedelta(minutes=n)
        root = w.add(A if n % 5 else R, at, content_note="a note" if n == 3 else "")
        first = w.add(A, at + timedelta(seconds=5), root, erased=n == 2)
        w.add(A if n % 3 else P, at + timedelta(seconds=6), first)
        w.add(A, at + timedelta(seconds=7), root, is_staff=True, staff_user_id=staff_id)
        w.add(S, at + timedelta(seconds=8), root)
    # Same second, later ids earlier by microseconds: the page orders by second, then id.
    second = START + timedelta(hours=2)
    for micro in (900_000, 500_000, 100_000, 0, 700_000):
        root = w.add(A, second.replace(microsecond=micro))
        w.add(A, second + timedelta(seconds=2, microseconds=micro), root)
    # Unpublished chains whose published replies show top-level or under a grandparent.
    dead = w.add(P, START + timedelta(hours=3))
    deader = w.add(D, START + timedelta(hours=3, seconds=1), dead)
    lifted = w.add(A, START + timedelta(hours=3, seconds=2), deader)
    w.add(A, START + timedelta(hours=3, seconds=3), lifted)
    w.add(A, START + timedelta(hours=3, seconds=4), dead)
    kept = w.add(A, START + timedelta(hours=4))
    gone = w.add(R, START + timedelta(hours=4, seconds=1), kept)
    w.add(A, START + timedelta(hours=4, seconds=2), gone)
    for n in range(6):
        w.add(A, START + timedelta(hours=5, minutes=n))
        w.add(A, START + timedelta(hours=5, minutes=n), article=OTHER)
    return w.ids


def _whole_thread_page(database: Database, request: thread_pages.PageRequest) -> bytes:
    # What CachedThread.page answers: the page cut from the whole thread.
    with database.read() as session:
        public = public_threads.list_public(session, ARTICLE)
    return json_bytes.dumps({"article_id": ARTICLE, "count": len(public),
                             "order": request.order, "limit": request.limit,
                             **thread_pages.page(public, request)})


def _paged(database: Database, request: thread_pages.PageRequest) -> bytes:
    with database.read() as session:
        return json_bytes.dumps(thread_query.page_document(session, ARTICLE, request))


@pytest.mark.parametrize("order", thread_pages.ORDERS)
def test_every_page_by_cursor_is_the_page_cut_from_the_whole_thread(
        database: Database, order: str) -> None:
    _seed(database)
    with database.read() as session:
        roots = thread_pages.groups(public_threads.list_public(session, ARTICLE), order)
    # Cursors handed out, and one naming each top-level comment.
    cursors = {None} | {thread_pages.cursor_after(chain) for chain in roots}
    cursors |= {"20261101T085959Z.1", "20991231T235959Z.9"}
    for limit in (1, 2, 3, 7, 50):
        pages = 0
        cursor = None
        while True:
            request = thread_pages.PageRequest(order, limit, _parse(cursor))
            expected = _whole_thread_page(database, request)
            assert _paged(database, request) == expected
            pages += 1
            cursor = json.loads(expected)["next_cursor"]
            if cursor is None:
                break
        assert pages == -(-len(roots) // limit)
        for other in cursors:
            request = thread_pages.PageRequest(order, limit, _parse(other))
            assert _paged(database, request) == _whole_thread_page(database, request)


def _parse(cursor: str | None) -> tuple[str, int] | None:
    if cursor is None:
        return None
    return thread_pages.parse_request({"cursor": cursor}, 10).cursor


@pytest.mark.parametrize("order", thread_pages.ORDERS)
def test_around_any_comment_is_the_pages_cut_from_the_whole_thread(
        database: Database, order: str) -> None:
    ids = _seed(database)
    for limit in (1, 4, 10):
        for comment_id in ids:
            request = thread_pages.PageRequest(order, limit, around=comment_id)
            try:
                expected = _whole_thread_page(database, request)
            except KeyError:
                with pytest.raises(KeyError):
                    _paged(database, request)
                continue
            assert _paged(database, request) == expected


def test_a_cursor_that_is_no_real_time_still_answers_as_the_whole_thread(
        database: Database) -> None:
    _seed(database)
    request = thread_pages.PageRequest("oldest", 3, ("20261301T000000Z", 5))
    assert _paged(database, request) == _whole_thread_page(database, request)


def test_the_cache_answers_a_page_before_and_after_the_whole_thread_is_cached(
        database: Database) -> None:
    ids = _seed(database)
    cache = ThreadCache(database)
    try:
        request = thread_pages.PageRequest("newest", 4)
        missed = cache.page(ARTICLE, request)
        assert missed[0] == _whole_thread_page(database, request)
        assert cache.page(ARTICLE, request) == missed
        assert cache.thread(ARTICLE).page(ARTICLE, request) == missed
        with database.write() as session:
            session.execute(update(Comment).where(Comment.id == ids[0]).values(status=A))
            thread_versions.touch_thread(session, ARTICLE)
        changed = cache.page(ARTICLE, request)
        assert changed[0] == _whole_thread_page(database, request)
        assert json.loads(changed[0])["count"] == json.loads(missed[0])["count"] + 1
    finally:
        cache.close()
