"""Checking an export document before anything is written: version, shape and every value.

Every problem is collected, each named by its place in the document
(``tables.comments[12].status: must be one of ...``), so one run lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from comments_service.store import migrate
from comments_service.verbs.archive.document import (
    EMAIL_FIELD,
    FORMAT,
    VERSION,
    Options,
    carries_email,
    decode,
    excluded_columns,
    exported_columns,
    exported_tables,
    primary_key,
    unique_column_sets,
)

# More than this many problems are summarised: the first ones show what is wrong.
MAX_ERRORS = 50


class InvalidDocument(ValueError):
    """The document cannot be restored; ``errors`` lists each problem by its field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = errors[:MAX_ERRORS]
        more = len(errors) - len(shown)
        lines = shown + ([f"... and {more} more"] if more else [])
        super().__init__("\n".join(lines))


@dataclass
class Document:
    """A checked document: options, and each table's rows as database values."""

    options: Options
    key_check: str
    articles: list[str]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Each row's place in the document, to name it in later reports.
    paths: dict[str, list[str]] = field(default_factory=dict)


def _options(raw: Any, errors: list[str]) -> Options:
    if not isinstance(raw, dict):
        errors.append("options: must be an object with emails and secrets")
        return Options()
    emails = raw.get("emails")
    secrets = raw.get("secrets")
    if emails not in ("clear", "hashed"):
        errors.append("options.emails: must be clear or hashed")
        emails = "hashed"
    if not isinstance(secrets, bool):
        errors.append("options.secrets: must be true or false")
        secrets = False
    unknown = sorted(set(raw) - {"emails", "secrets"})
    errors += [f"options.{name}: unknown option" for name in unknown]
    return Options(emails=emails, secrets=secrets)


def _envelope(document: Any, errors: list[str]) -> dict[str, Any]:
    if not isinstance(document, dict):
        errors.append("document: must be a JSON object")
        return {}
    if document.get("format") != FORMAT:
        errors.append(f"format: must be {FORMAT!r}; this is not a comments-service export")
    version = document.get("version")
    if version != VERSION:
        errors.append(f"version: this release reads version {VERSION} documents, "
                      f"not {version!r}")
    revisions = document.get("schema_revisions")
    if not isinstance(revisions, list) or not all(isinstance(r, str) for r in revisions):
        errors.append("schema_revisions: must be a list of revision ids")
    else:
        unknown = sorted(set(revisions) - migrate.known_revisions())
        if unknown:
            errors.append(f"schema_revisions: {', '.join(unknown)} unknown to this release; "
                          "the export comes from a newer one: upgrade this installation first")
    if not isinstance(document.get("key_check"), str):
        errors.append("key_check: must be text")
    articles = document.get("articles")
    if not isinstance(articles, list) or not all(
            isinstance(a, str) and 0 < len(a) <= 100 for a in articles):
        errors.append("articles: must be a list of article ids (text, at most 100 characters)")
    if not isinstance(document.get("tables"), dict):
        errors.append("tables: must be an object of table name to rows")
    return document


def _row(table: Table, raw: Any, where: str, options: Options,
         errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be an object")
        return None
    columns = {c.name: c for c in exported_columns(table, options)}
    allowed = set(columns) | ({EMAIL_FIELD} if carries_email(table, options) else set())
    hidden = excluded_columns(table, options)
    for name in sorted(set(raw) - allowed):
        reason = f"is left out of exports ({hidden[name]})" if name in hidden else \
            f"is not a column of {table.name}"
        errors.append(f"{where}.{name}: {reason}")
    row: dict[str, Any] = {}
    for name, column in columns.items():
        if name not in raw:
            # An older export lacks a newer column: its default fills it, as migrating would.
            if column.primary_key or not (column.nullable or column.default is not None
                                          or column.server_default is not None):
                errors.append(f"{where}.{name}: is missing")
            continue
        try:
            row[name] = decode(column, raw[name])
        except ValueError as exc:
            errors.append(f"{where}.{name}: {exc}")
    if carries_email(table, options):
        email = raw.get(EMAIL_FIELD, "")
        if not isinstance(email, str) or len(email) > 254:
            errors.append(f"{where}.{EMAIL_FIELD}: must be text of at most 254 characters")
        else:
            row[EMAIL_FIELD] = email
    return row


def _duplicates(table: Table, rows: list[dict[str, Any]], paths: list[str],
                errors: list[str]) -> None:
    for names in [tuple(c.name for c in primary_key(table)), *unique_column_sets(table)]:
        seen: dict[tuple[Any, ...], str] = {}
        for row, where in zip(rows, paths, strict=True):
            if not all(n in row for n in names):
                continue
            key = tuple(row[n] for n in names)
            if None in key:  # NULLs never collide in SQL unique indexes
                continue
            if key in seen:
                errors.append(f"{where}.{names[0]}: duplicates {seen[key]} "
                              f"({', '.join(names)} must be unique)")
            else:
                seen[key] = where


def check_document(document: Any) -> Document:
    """The checked document, or InvalidDocument listing every problem by field."""
    errors: list[str] = []
    raw = _envelope(document, errors)
    options = _options(raw.get("options"), errors)
    raw_tables = raw.get("tables") if isinstance(raw.get("tables"), dict) else {}
    known = {t.name: t for t in exported_tables()}
    for name in sorted(set(raw_tables) - set(known)):
        errors.append(f"tables.{name}: not a table this release exports")
    checked = Document(options=options, key_check=str(raw.get("key_check", "")),
                       articles=list(raw.get("articles") or []))
    for name, table in known.items():
        raw_rows = raw_tables.get(name, [])
        if not isinstance(raw_rows, list):
            errors.append(f"tables.{name}: must be a list of rows")
            continue
        rows, paths = [], []
        for index, raw_row in enumerate(raw_rows):
            where = f"tables.{name}[{index}]"
            row = _row(table, raw_row, where, options, errors)
            if row is not None:
                rows.append(row)
                paths.append(where)
        _duplicates(table, rows, paths, errors)
        checked.rows[name] = rows
        checked.paths[name] = paths
    if errors:
        raise InvalidDocument(errors)
    return checked
