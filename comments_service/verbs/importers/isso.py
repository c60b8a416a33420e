"""Isso's SQLite database: ``threads(id, uri, title)`` and ``comments(tid, id, parent, ...)``.

The file is opened read-only (SQLite's ``mode=ro``), so importing can never change the
old system's data, even by accident. ``created`` is a Unix time (a float); ``mode`` is 1
for accepted, 2 for pending and 4 for deleted (Isso keeps a deleted comment, emptied,
while replies hang off it). ``text`` is what the reader typed, Markdown that Isso renders
when showing it. Isso has no accounts, so staff replies can only be recognised by name
(and email), which the staff mapping does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .html_body import clean_name, markdown_to_text
from .records import (
    Export,
    ImportedComment,
    ImportedThread,
    ImportSourceError,
    SkipReason,
    SourceStatus,
)

SYSTEM = "isso"
MODES = {1: SourceStatus.APPROVED, 2: SourceStatus.PENDING, 4: SourceStatus.DELETED}
THREAD_COLUMNS = {"id", "uri", "title"}
COMMENT_COLUMNS = {"tid", "id", "parent", "created", "mode", "remote_addr", "text", "author",
                   "email", "website"}
SQLITE_MAGIC = b"SQLite format 3\x00"
# How many comments between two progress calls.
PROGRESS_EVERY = 1000


def parse(path: Path, progress: Callable[[int, int], None] | None = None) -> Export:
    """Every thread and comment of an Isso database; ImportSourceError if it is not one."""
    connection = _open(path)
    try:
        _check_schema(connection, path)
        export = Export(SYSTEM, path)
        for tid, uri, title in connection.execute(
                "SELECT id, uri, title FROM threads ORDER BY id"):
            thread = ImportedThread(source_system=SYSTEM, source_id=str(tid), url=uri or "",
                                    title=" ".join((title or "").split()))
            export.threads[thread.source_id] = thread
        total = connection.execute("SELECT count(*) FROM comments").fetchone()[0]
        rows = connection.execute(
            "SELECT tid, id, parent, created, mode, remote_addr, text, author, email, website "
            "FROM comments ORDER BY id")
        for done, row in enumerate(rows, start=1):
            _read_comment(export, row)
            if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                progress(done, total)
        return export
    except sqlite3.DatabaseError as exc:
        raise ImportSourceError(path, f"cannot be read as an Isso database: {exc}") from None
    finally:
        connection.close()


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise ImportSourceError(path, "no such file")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ImportSourceError(path, f"cannot be read: {exc.strerror}") from None
    if head != SQLITE_MAGIC:
        raise ImportSourceError(path, "is not an Isso database: not an SQLite file")
    # A URI, so the path's own characters (?, #, %) cannot turn into options.
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise ImportSourceError(path, f"cannot be opened read-only: {exc}") from None


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    for table, wanted in (("threads", THREAD_COLUMNS), ("comments", COMMENT_COLUMNS)):
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if not columns:
            raise ImportSourceError(path, f"is not an Isso database: it has no '{table}' table")
        missing = sorted(wanted - columns)
        if missing:
            raise ImportSourceError(path, f"is not an Isso database: table '{table}' lacks "
                                    f"column(s) {', '.join(missing)}")


def _read_comment(export: Export, row: tuple[object, ...]) -> None:
    tid, comment_id, parent, created, mode, remote_addr, text, author, email, website = row
    thread_id = str(tid)
    if thread_id not in export.threads:
        export.skip(None, SkipReason.NO_THREAD)
        return
    try:
        moment = datetime.fromtimestamp(float(created), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        export.skip(thread_id, SkipReason.NO_DATE)
        return
    export.comments.append(ImportedComment(
        source_system=SYSTEM,
        source_id=str(comment_id),
        thread_source_id=thread_id,
        parent_source_id=str(parent) if parent is not None else None,
        author_name=clean_name(str(author or "")),
        email=(str(email).strip() or None) if email else None,
        author_url=str(website or ""),
        # Isso stores the address already anonymised (the last IPv4 byte zeroed).
        ip=(str(remote_addr).strip() or None) if remote_addr else None,
        created_at=moment,
        # An unknown mode is treated as not yet accepted: nothing is published by guess.
        status=MODES.get(mode if isinstance(mode, int) else -1, SourceStatus.PENDING),
        body_text=markdown_to_text(str(text or "")),
    ))
