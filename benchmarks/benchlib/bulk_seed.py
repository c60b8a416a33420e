"""Seed a comments database in bulk, outside the API: for growth benchmarks only.

Rows go in as SQLAlchemy Core executemany batches on SQLite and as COPY on PostgreSQL,
in id order, with what a grown library holds: 10,000 articles, every status (mostly
approved; some pending, rejected, spam, deleted), urgent comments, staff replies, about
50,000 readers (keyed email hashes, encrypted addresses) and 100,000 addresses. One
article, THREAD_ARTICLE, always has exactly 50 approved top-level comments (plus a few in
other statuses), so its thread reads the same at every size. All text is generated and
fictional.
"""

from __future__ import annotations

import html
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from comments_service.store.database import Database
from comments_service.store.models import Comment
from comments_service.verbs.keyring import Keyring

ARTICLES = 10_000
READERS = 50_000
ADDRESSES = 100_000
TOPICS = 1_000
THREAD_ARTICLE = "growth-thread"
BATCH = 20_000
_START = datetime(2024, 1, 1, tzinfo=UTC)
_WORDS = ("waiting", "lists", "sleep", "therapy", "session", "helped", "worried", "family",
          "anxiety", "routine", "walking", "friend", "doctor", "notes", "breathing", "week",
          "morning", "reading", "calm", "talking", "group", "support", "small", "steps")
# (status, share of 1,000): mostly approved, as a moderated library is.
_STATUSES = (("approved", 850), ("pending", 60), ("rejected", 30), ("spam", 40),
             ("deleted", 20))
# Migration 0014's trigger and backfill (the migration module is not importable).
COUNT_TRIGGER = "article_counts_follow"
COUNT_BACKFILL = ("INSERT INTO article_counts (article_id, approved) SELECT article_id, "
                  "count(*) FROM comments WHERE status = 'approved' GROUP BY article_id")
COLUMNS = ("id", "article_id", "parent_id", "depth", "author_name", "email_encrypted",
           "email_hash", "body", "body_html", "body_hash", "status", "urgent",
           "urgent_reasons", "is_staff", "staff_user_id", "content_note", "created_at",
           "updated_at", "ip_hash", "notify", "erased", "notified", "spam_score",
           "spam_reasons", "screening_note", "hidden_by_reports", "webhooks_queued")


def topic(n: int) -> str:
    """A made-up word that about 1 in TOPICS comments mention: a selective search term."""
    return f"zq{n:04d}x"


def reader_email(n: int) -> str:
    """The address of reader ``n`` (fictional; example.org is reserved)."""
    return f"reader{n}@example.org"


@dataclass
class SeedReport:
    comments: int
    seconds: float


class _Pools:
    """What rows share, computed once: hashes and tokens are the slow part of a row."""

    def __init__(self, keyring: Keyring) -> None:
        self.email_hashes = [keyring.email_hash(reader_email(n)) for n in range(READERS)]
        # Encrypting 50,000 addresses costs seconds; 500 tokens decrypt as well in a queue.
        self.email_tokens = [keyring.encrypt_email(reader_email(n)) for n in range(500)]
        rng = random.Random(7)
        self.ip_hashes = [f"{rng.getrandbits(256):064x}" for _ in range(ADDRESSES)]
        statuses: list[str] = []
        for status, share in _STATUSES:
            statuses += [status] * share
        self.statuses = statuses


def _rows(total: int, pools: _Pools, first_id: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(total)
    step = timedelta(seconds=max(1, int(2 * 365 * 86400 / max(total, 1))))
    last_in_article: dict[str, int] = {}
    thread_left = 50
    for n in range(total):
        comment_id = first_id + n
        # The measured thread: its 50 approved comments spread through the table.
        if thread_left and n % max(1, total // 60) == 0:
            article, status, thread_left = THREAD_ARTICLE, "approved", thread_left - 1
        else:
            article = f"article-{rng.randrange(ARTICLES):05d}"
            status = pools.statuses[rng.randrange(1000)]
        staff = status == "approved" and rng.random() < 0.02 and article in last_in_article
        reader = rng.randrange(READERS)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 45)))
        body = (f"Comment {comment_id}: {words.capitalize()}, and it mentions "
                f"{topic(rng.randrange(TOPICS))}.")
        created = _START + step * n
        yield {
            "id": comment_id, "article_id": article,
            "parent_id": last_in_article.get(article) if staff else None,
            "depth": 1 if staff else 0,
            "author_name": "Robin from the team" if staff else f"Reader {reader}",
            "email_encrypted": "" if staff else pools.email_tokens[reader % 500],
            "email_hash": "" if staff else pools.email_hashes[reader],
            "body": body, "body_html": f"<p>{html.escape(body)}</p>",
            "body_hash": f"{comment_id:064x}", "status": status,
            "urgent": status == "pending" and rng.random() < 0.1,
            "urgent_reasons": "", "is_staff": staff, "staff_user_id": None,
            "content_note": "", "created_at": created, "updated_at": created,
            "ip_hash": None if staff else pools.ip_hashes[rng.randrange(ADDRESSES)],
            "notify": False, "erased": False, "notified": True,
            "spam_score": None, "spam_reasons": "", "screening_note": "",
            "hidden_by_reports": False, "webhooks_queued": True,
        }
        if status == "approved" and not staff and article != THREAD_ARTICLE:
            last_in_article[article] = comment_id


def seed(database: Database, keyring: Keyring, total: int) -> SeedReport:
    """Add ``total`` comments to an empty, migrated database; ANALYZE afterwards."""
    started = time.monotonic()
    pools = _Pools(keyring)
    rows = _rows(total, pools)
    if database.is_sqlite:
        _seed_sqlite(database, rows)
    else:
        _seed_postgresql(database, rows)
    return SeedReport(total, time.monotonic() - started)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _seed_sqlite(database: Database, rows: Iterator[dict[str, Any]]) -> None:
    statement = insert(Comment.__table__)
    for batch in _batches(rows):
        with database.write() as session:
            session.execute(statement, batch)
    # Outside any transaction (the driver connection is in autocommit): a checkpoint
    # cannot run inside one.
    raw = database.engine.raw_connection()
    try:
        raw.driver_connection.execute("ANALYZE")
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _seed_postgresql(database: Database, rows: Iterator[dict[str, Any]]) -> None:
    raw = database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        with driver.cursor() as cursor:
            # The approved-count trigger would update an article's row once per comment
            # (850,000 row versions at a million, until a vacuum): off for the COPY, and
            # the counts filled once afterwards, in the same transaction.
            cursor.execute(f"ALTER TABLE comments DISABLE TRIGGER {COUNT_TRIGGER}")
            with cursor.copy(f"COPY comments ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row[c] for c in COLUMNS))
            cursor.execute("SELECT setval(pg_get_serial_sequence('comments', 'id'), "
                           "(SELECT max(id) FROM comments))")
            cursor.execute("DELETE FROM article_counts")
            cursor.execute(COUNT_BACKFILL)
            cursor.execute(f"ALTER TABLE comments ENABLE TRIGGER {COUNT_TRIGGER}")
        driver.commit()
        _vacuum(driver)
    finally:
        raw.close()


def _vacuum(driver: Any) -> None:
    driver.autocommit = True
    driver.execute("VACUUM ANALYZE comments")
    driver.execute("VACUUM ANALYZE article_counts")
    driver.autocommit = False


def seed_thread(database: Database, keyring: Keyring, article_id: str, count: int) -> None:
    """Add one article with ``count`` approved top-level comments (a big thread)."""
    pools = _Pools(keyring)
    with database.read() as session:
        first = int(session.execute(text("SELECT coalesce(max(id), 0) + 1 FROM comments"))
                    .scalar_one())
    rows = []
    for row in _rows(count, pools, first):
        row.update(article_id=article_id, status="approved", parent_id=None, depth=0,
                   is_staff=False, urgent=False)
        rows.append(row)
    with database.write() as session:
        session.execute(insert(Comment.__table__), rows)
    if not database.is_sqlite:
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('comments', 'id'), "
                "(SELECT max(id) FROM comments))")
        # The trigger updated the article's count row once per comment: vacuumed, as
        # autovacuum would have by the time a real thread had grown this long.
        raw = database.engine.raw_connection()
        try:
            _vacuum(raw.driver_connection)
        finally:
            raw.close()
