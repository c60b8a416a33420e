"""The neutral model every importer parses into: threads and comments from another system.

A parser turns one export (WordPress WXR, Disqus XML, an Isso database) into an
:class:`Export`; the import verb then matches its threads to our articles and stores its
comments. Nothing here knows about our database, so the parsers can be tested alone.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SOURCE_SYSTEMS = ("wordpress", "disqus", "isso")


class SourceStatus(enum.StrEnum):
    """What the source system said about a comment, reduced to what we can keep."""

    APPROVED = "approved"
    PENDING = "pending"
    SPAM = "spam"
    DELETED = "deleted"


class SkipReason(enum.StrEnum):
    """Why a comment in an export is not imported; counted per thread, never silent."""

    TRASH = "trash"
    PINGBACK = "pingback"
    TRACKBACK = "trackback"
    OTHER_TYPE = "other comment type"
    NO_DATE = "no valid date"
    EMPTY = "empty text"
    DUPLICATE_IN_EXPORT = "listed twice in the export"
    NO_THREAD = "thread not in the export"
    UNMATCHED = "no matching article"
    ALREADY_IMPORTED = "already imported"
    CONFLICT = "id already used by another comment"


class ImportSourceError(Exception):
    """An export that cannot be read: names the file, and the line when there is one."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclass
class ImportedThread:
    """One discussion in the source: a WordPress post, a Disqus thread, an Isso URI.

    ``source_id`` is the key comments refer to it by. The identifiers are what the import
    can match an article on; any may be empty.
    """

    source_system: str
    source_id: str
    url: str = ""
    slug: str = ""
    post_id: str = ""
    identifier: str = ""  # Disqus' own <id>, often the site's post id or slug
    title: str = ""
    guid: str = ""  # WordPress' guid, usable in a mapping file, never for path matching
    # Comments of this thread that the parser already left out, by reason.
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        """How reports name the thread: its title and where it lived."""
        where = self.url or self.identifier or self.slug or self.post_id or self.source_id
        if self.title and self.title != where:
            return f"'{self.title}' ({where})"
        return where

    def keys(self) -> Iterator[str]:
        """Every non-URL identifier a mapping file may name this thread by."""
        for value in (self.slug, self.post_id, self.identifier):
            if value:
                yield value


@dataclass
class ImportedComment:
    """One comment as the source stored it, normalised only as far as the model needs.

    ``created_at`` is timezone-aware UTC. ``body_text`` is already our plain-text form
    (see html_body). ``email`` and ``ip`` are None when the source had none.
    """

    source_system: str
    source_id: str
    thread_source_id: str
    parent_source_id: str | None
    author_name: str
    email: str | None
    author_url: str
    ip: str | None
    created_at: datetime
    status: SourceStatus
    body_text: str
    # The source's account behind the comment, for mapping staff replies: a WordPress
    # user id (and login, when the export lists the user), a Disqus username, or for Isso,
    # which has no accounts, nothing (mapping there goes by name and email).
    source_user_id: str = ""
    source_username: str = ""
    # True when the UTC time had to be estimated (WordPress without comment_date_gmt).
    time_estimated: bool = False


@dataclass
class Export:
    """Everything one export holds, in the order the source listed it."""

    source_system: str
    path: Path
    threads: dict[str, ImportedThread] = field(default_factory=dict)
    comments: list[ImportedComment] = field(default_factory=list)
    # Comments skipped where no thread could hold the count (their thread is missing).
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, thread_source_id: str | None, reason: SkipReason) -> None:
        """Count one comment left out, on its thread when the export has that thread."""
        thread = self.threads.get(thread_source_id or "")
        if thread is not None:
            thread.skipped[reason.value] += 1
        else:
            self.skipped[reason.value] += 1
