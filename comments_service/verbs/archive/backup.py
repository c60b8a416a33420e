"""Online backup of a SQLite database: a consistent copy while the service keeps writing."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from comments_service.store.database import Database
from comments_service.verbs.archive.document import ArchiveError

PG_DUMP_ADVICE = (
    "backup copies SQLite databases only; for PostgreSQL use its own tools, e.g. "
    "pg_dump -Fc -f comments.dump DBNAME (and pg_restore -d DBNAME comments.dump)"
)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    pages: int
    comments: int


def sqlite_path(database: Database) -> Path:
    """The database file, or ArchiveError when the database is not a SQLite file."""
    if not database.is_sqlite:
        raise ArchiveError("database", PG_DUMP_ADVICE)
    path = database.url.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        raise ArchiveError("database", "an in-memory SQLite database has nothing to back up")
    return Path(path)


def backup(database: Database, target: Path) -> BackupReport:
    """Copy the live database to ``target`` and check the copy; refuses to overwrite.

    sqlite3's backup API copies the pages in one step, which reads one snapshot: in WAL
    mode writers are not blocked meanwhile, and what they commit during the copy is simply
    not in it. The copy is written beside the target, switched to a single-file journal,
    checked with integrity_check, and only then renamed into place.
    """
    source_path = sqlite_path(database)
    if target.exists():
        raise ArchiveError("FILE", f"{target} exists already; choose a new file name")
    if target.resolve() == source_path.resolve():
        raise ArchiveError("FILE", "is the database itself")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Read-write, though it only reads: a read-only WAL reader fails when no -shm exists.
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            # A backup is one file to keep or send: no -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise ArchiveError("FILE", "the copy failed its integrity check: "
                                   + "; ".join(problems[:5]))
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
            comments = copy.execute("SELECT count(*) FROM comments").fetchone()[0]
        finally:
            copy.close()
        os.chmod(partial, 0o600)  # it holds personal data, as the database does
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return BackupReport(path=target, pages=int(pages), comments=int(comments))
