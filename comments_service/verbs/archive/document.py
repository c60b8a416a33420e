"""The export document's shape: which tables and columns it carries, and how values are written.

Built from the models' metadata, so a column or table another migration adds is carried
without a change here. What is left out, and why, is listed once in EXCLUDED_TABLES and
excluded_columns(); the README's "how to move out" section repeats it for operators.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Column, Table, TypeDecorator, UniqueConstraint

from comments_service.store.models import Base

FORMAT = "open-minds-library-comments-export"
VERSION = 1

# Tables never exported: state that is rebuilt, short-lived, or a live credential.
EXCLUDED_TABLES: dict[str, str] = {
    "thread_versions": "cache counters; restore bumps every article's version itself",
    "article_counts": "approved comments per article, kept by triggers as comments are "
                      "restored",
    "bake_requests": "the re-bake queue; restore queues a re-bake of every article",
    "spam_model_state": "the spam classifier's reload counter; the migrations seed it",
    "staff_sessions": "live sign-in credentials; staff sign in again after a move",
    "login_attempts": "short-lived sign-in throttle, keyed by IP hash",
    "outbox": "mail waiting to be sent: its recipients are encrypted and its links signed "
              "with this installation's secret key; drain it first (notify run-once)",
}

# Tables the migrations fill themselves; a restore into an empty database replaces them.
SEEDED_TABLES = frozenset({"reply_templates"})

SECRETS_REASON = "password hashes are written only with --with-secrets"

# The comment's address in clear, carried instead of email_encrypted with --with-emails.
EMAIL_FIELD = "email"

_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class ArchiveError(ValueError):
    """A document, database or option that export or restore refuses; names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Options:
    """What an export carries beyond the default: emails in clear, password hashes."""

    emails: Literal["clear", "hashed"] = "hashed"
    secrets: bool = False

    def as_json(self) -> dict[str, Any]:
        """The options as the document records them."""
        return {"emails": self.emails, "secrets": self.secrets}


def exported_tables() -> list[Table]:
    """Every table the document carries, parents before the tables that refer to them."""
    return [t for t in Base.metadata.sorted_tables if t.name not in EXCLUDED_TABLES]


def excluded_columns(table: Table, options: Options) -> dict[str, str]:
    """Columns of ``table`` left out under ``options``, each with the reason."""
    excluded: dict[str, str] = {}
    for column in table.columns:
        if column.name.endswith("_encrypted"):
            # Fernet tokens only open with this installation's key: useless anywhere else.
            excluded[column.name] = "encrypted with this installation's secret key"
    if table.name == "staff_users":
        if options.emails != "clear":
            excluded["email"] = "emails are written only with --with-emails"
        if not options.secrets:
            excluded["password_hash"] = SECRETS_REASON
    return excluded


def exported_columns(table: Table, options: Options) -> list[Column[Any]]:
    """The columns of ``table`` the document carries under ``options``."""
    skip = excluded_columns(table, options)
    return [c for c in table.columns if c.name not in skip]


def carries_email(table: Table, options: Options) -> bool:
    """Whether rows of ``table`` carry the virtual ``email`` field (comments, in clear)."""
    return table.name == "comments" and options.emails == "clear"


def exclusion_list(options: Options) -> list[str]:
    """Names of what the document leaves out, for a reader of the file."""
    names = sorted(EXCLUDED_TABLES)
    for table in exported_tables():
        names += [f"{table.name}.{name}" for name in sorted(excluded_columns(table, options))]
    return names


def primary_key(table: Table) -> list[Column[Any]]:
    """The primary key's columns, in order."""
    return list(table.primary_key.columns)


def unique_column_sets(table: Table) -> list[tuple[str, ...]]:
    """Column sets besides the primary key that no two rows may share (unique indexes too)."""
    sets = [tuple(c.name for c in index.columns) for index in table.indexes if index.unique]
    sets += [tuple(c.name for c in u.columns) for u in table.constraints
             if isinstance(u, UniqueConstraint)]
    sets += [(c.name,) for c in table.columns if c.unique]
    return list(dict.fromkeys(sets))


def sort_key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    """Rows ordered by primary key in Python, so SQLite and PostgreSQL collations agree."""
    return tuple(row[c.name] for c in primary_key(table))


def encode(field: str, value: Any) -> Any:
    """A database value as it is written into the document."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return value
    raise ArchiveError(field, f"cannot export a value of type {type(value).__name__}")


def python_type(column: Column[Any]) -> type | None:
    """The Python type of a column's values (a decorated type's underlying one)."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def decode(column: Column[Any], value: Any) -> Any:
    """A document value as the database takes it; ValueError says what is wrong."""
    if value is None:
        if not column.nullable:
            raise ValueError("must not be null")
        return None
    kind = python_type(column)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        return float(value)
    if kind is datetime:
        if not isinstance(value, str) or not _TIME_RE.match(value):
            raise ValueError("must be an ISO-8601 UTC time like 2026-11-30T08:00:00.000000Z")
        return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
    if kind is date:
        if not isinstance(value, str):
            raise ValueError("must be a date like 2026-11-30")
        return date.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        allowed = [m.value for m in kind]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return kind(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        length = getattr(column.type, "length", None)
        if length is not None and len(value) > length:
            raise ValueError(f"must be at most {length} characters")
        return value
    if kind in (dict, list):
        return value
    raise ValueError(f"cannot restore a value of column type {column.type}")
