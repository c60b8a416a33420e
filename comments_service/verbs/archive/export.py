"""The full export: every exported table of the database as one stable, versioned JSON document."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Table, select, text
from sqlalchemy.orm import Session

from comments_service.store import migrate
from comments_service.store.database import Database
from comments_service.store.models import Comment, ThreadVersion
from comments_service.verbs.archive.document import (
    EMAIL_FIELD,
    FORMAT,
    VERSION,
    ArchiveError,
    Options,
    carries_email,
    encode,
    exclusion_list,
    exported_columns,
    exported_tables,
    sort_key,
)
from comments_service.verbs.keyring import Keyring

# The address whose keyed hash tells a restore whether its secret key made the hashes.
KEY_CHECK_ADDRESS = "key-check@export.invalid"


def key_check(keyring: Keyring) -> str:
    """A keyed hash of a fixed address: equal for equal secret keys, and reveals neither."""
    return keyring.email_hash(KEY_CHECK_ADDRESS)


def check_schema(session: Session) -> tuple[str, ...]:
    """The database's revisions, refusing one not at this release's heads."""
    at = migrate.current_heads(session.connection())
    expected = migrate.code_heads()
    if at != expected:
        raise ArchiveError(
            "database", f"is at revision(s) {', '.join(at) or 'none'} but this release "
            f"expects {', '.join(expected)}: run comments-service migrate first")
    return at


def export_row(table: Table, row: Row[Any] | dict[str, Any], options: Options,
               keyring: Keyring) -> dict[str, Any]:
    """One stored row as the document writes it."""
    values = row._mapping if isinstance(row, Row) else row
    out = {c.name: encode(f"{table.name}.{c.name}", values[c.name])
           for c in exported_columns(table, options) if c.name in values}
    if carries_email(table, options):
        out[EMAIL_FIELD] = keyring.decrypt_email(values.get("email_encrypted") or "")
    return out


def table_rows(session: Session, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table`` as plain values, by primary key."""
    rows = [dict(r._mapping) for r in session.execute(select(table))]
    return sorted(rows, key=lambda r: sort_key(table, r))


def article_ids(session: Session) -> list[str]:
    """Every article id the database has seen: in comments or in thread versions."""
    seen = set(session.scalars(select(Comment.article_id).distinct()))
    seen |= set(session.scalars(select(ThreadVersion.article_id)))
    return sorted(seen)


def build_document(database: Database, keyring: Keyring, options: Options) -> dict[str, Any]:
    """The whole export as JSON-ready data, read in one transaction (one snapshot)."""
    with database.read() as session:
        if not database.is_sqlite:
            # One snapshot across all tables, even while the service keeps writing.
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        revisions = check_schema(session)
        tables = {
            table.name: [export_row(table, row, options, keyring)
                         for row in table_rows(session, table)]
            for table in exported_tables()
        }
        articles = article_ids(session)
    return {
        "format": FORMAT,
        "version": VERSION,
        "options": options.as_json(),
        "key_check": key_check(keyring),
        "schema_revisions": list(revisions),
        "excluded": exclusion_list(options),
        "articles": articles,
        "tables": tables,
    }


def dumps(document: dict[str, Any]) -> bytes:
    """Stable bytes: sorted keys, fixed indentation, so equal data gives equal files."""
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()


def write_export(database: Database, keyring: Keyring, options: Options,
                 path: Path) -> dict[str, int]:
    """Write the export to ``path`` (owner-only, replaced whole); returns rows per table."""
    document = build_document(database, keyring, options)
    data = dumps(document)
    partial = path.with_name(f".{path.name}.partial")
    # Owner-only from the first byte: the file holds personal data.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return {name: len(rows) for name, rows in document["tables"].items()}
