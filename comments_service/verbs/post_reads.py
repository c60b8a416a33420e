"""What a post reads before its write: the pause switch, the blocklist, the spam model's
version. On PostgreSQL one statement reads all three (issue #14), where they were three
round trips.

The blocklist is kept per process under a digest the server computes of its rows (a
SHA-256 of them as JSON, in the same statement), so the rules themselves are re-read only
when a block was added, removed or changed, by any process or by hand in SQL, and then by
the very next post (one more round trip, that once): no time-to-live, nothing stale. The
spam model's version goes to spam_learning.snapshot, which reloads its counts the same way.
SQLite reads them as before, in the post's own sessions (there a round trip is a function
call).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, Text, cast, func, select
from sqlalchemy.engine import Connection

from comments_service.store.database import Database
from comments_service.store.models import Block, CommentsPause, SpamModelState
from comments_service.verbs import blocklist, pause
from comments_service.verbs.pause import PauseState


@dataclass(frozen=True)
class PostReads:
    """The reads a post's screening needs, taken before it is checked.

    ``blocks`` and ``spam_version`` are None on SQLite: screening reads them itself then.
    """

    pause: PauseState
    blocks: tuple[blocklist.Rule, ...] | None = None
    spam_version: int | None = None


def _pause_column(column: ColumnElement) -> ColumnElement:
    return select(column).where(CommentsPause.id == pause.PAUSE_ROW).scalar_subquery()


@lru_cache(maxsize=1)
def _statements() -> tuple[Select, Select]:
    """The combined read and the blocklist reload, built on the first PostgreSQL post.

    Built late because the PostgreSQL dialect they need costs a SQLite worker 2.4 MB.
    """
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    # NULL when there are no blocks; ordered by id so equal rows give an equal digest.
    digest = select(func.sha256(func.convert_to(cast(func.json_agg(aggregate_order_by(
        func.json_build_array(*blocklist.RULE_COLUMNS), Block.id)), Text), "UTF8"))
    ).scalar_subquery()
    combined = select(
        _pause_column(CommentsPause.paused).label("paused"),
        _pause_column(CommentsPause.message).label("message"),
        _pause_column(CommentsPause.changed_by).label("changed_by"),
        _pause_column(CommentsPause.changed_at).label("changed_at"),
        digest.label("blocks_digest"),
        # The model's one row (spam_learning's _STATE_ID); NULL if someone deleted it.
        select(SpamModelState.version).where(SpamModelState.id == 1).scalar_subquery()
        .label("spam_version"),
    )
    # The rules and their digest in one statement, so both come from the same snapshot: a
    # cached digest always names exactly the rules cached with it.
    reload = select(*blocklist.RULE_COLUMNS, digest.label("blocks_digest")).order_by(Block.id)
    return combined, reload


_rules: weakref.WeakKeyDictionary[Database, tuple[bytes | None, tuple[blocklist.Rule, ...]]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


def before_post(database: Database) -> PostReads:
    """The reads a post needs; raises pause.CommentsPaused (403) while the pause is on."""
    reads = read(database)
    if reads.pause.paused:
        raise pause.CommentsPaused(reads.pause)
    return reads


def read(database: Database) -> PostReads:
    """The pause state, and on PostgreSQL the blocklist and the spam model's version, as
    every process sees them now: one round trip unless the blocklist changed."""
    if database.is_sqlite:
        return PostReads(pause.current(database))
    with database.single_statement() as connection:
        row = connection.execute(_statements()[0]).one()
        rules = _current_rules(database, connection, row.blocks_digest)
    state = PauseState() if row.paused is None else PauseState(
        row.paused, row.message, row.changed_by, row.changed_at)
    return PostReads(state, rules, row.spam_version if row.spam_version is not None else 0)


def _current_rules(database: Database, connection: Connection,
                   digest: bytes | None) -> tuple[blocklist.Rule, ...]:
    """The rules under ``digest``: this process's copy, or read again if it is another."""
    with _lock:
        cached = _rules.get(database)
    if cached is not None and cached[0] == digest:
        return cached[1]
    if digest is None:
        fresh: tuple[bytes | None, tuple[blocklist.Rule, ...]] = (None, ())
    else:
        rows = connection.execute(_statements()[1]).all()
        # Blocks removed meanwhile leave no row: then the table is empty, digest NULL.
        fresh = (rows[0].blocks_digest if rows else None,
                 tuple(blocklist.Rule(*row[:len(blocklist.RULE_COLUMNS)]) for row in rows))
    with _lock:
        _rules[database] = fresh
    return fresh[1]
