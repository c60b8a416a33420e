"""Storing a reader's post on PostgreSQL in one round trip: the comments_admit() function.

Migration 0012 creates the function; it takes the per-address advisory lock, checks the
parent, both rate limits and the duplicate, and inserts, all in one statement run in
autocommit (its own transaction), where the transaction used to be BEGIN, the lock, the
guarded INSERT and COMMIT: four round trips. SQLite keeps its write transaction (there a
round trip is a function call, and IMMEDIATE transactions serialise writers already).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.verbs import spam

RATE_LIMITED = -1
DUPLICATE = -2
PARENT_NOT_PUBLIC = -3

# Positional, in the order the migration declares the arguments.
_ARGUMENTS = ("article_id", "parent_id", "author_name", "email_encrypted", "email_hash",
              "body", "body_html", "body_hash", "status", "urgent", "urgent_reasons",
              "created_at", "ip_hash", "notify", "notified", "spam_score", "spam_reasons",
              "screening_note", "lock_key", "since", "limit", "address_limit", "max_depth")
_CALL = text("SELECT comments_admit(" + ", ".join(
    f"CAST(:{name} AS double precision)" if name == "spam_score" else f":{name}"
    for name in _ARGUMENTS) + ")")


def lock_key(ip_hash: str) -> int:
    """The advisory lock key of an address, as spam.lock_address takes it."""
    return int(ip_hash[:15], 16)


def admit(database: Database, settings: Settings, row: dict[str, Any],
          parent_id: int | None, max_depth: int) -> int:
    """The new comment's id, or RATE_LIMITED, DUPLICATE or PARENT_NOT_PUBLIC (nothing
    stored). ``row`` holds the comment's columns as verbs/comments.py builds them."""
    params = {name: row.get(name) for name in _ARGUMENTS}
    params.update(
        parent_id=parent_id,
        status=str(row["status"]),  # a CommentStatus (StrEnum): its value
        lock_key=lock_key(row["ip_hash"]),
        since=spam.window_start(row["created_at"], settings.rate_limit_window_seconds),
        limit=settings.rate_limit_count,
        address_limit=settings.rate_limit_address_count,
        max_depth=max_depth,
    )
    with database.single_statement() as connection:
        return int(connection.execute(_CALL, params).scalar_one())
