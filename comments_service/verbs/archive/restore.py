"""Restore: an export document into an empty database exactly, or merged without overwriting.

One transaction: the document is checked first (InvalidDocument names every bad field),
and any refusal later rolls everything back, so a failed restore changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.verbs.archive.document import (
    EMAIL_FIELD,
    SEEDED_TABLES,
    ArchiveError,
    carries_email,
    encode,
    excluded_columns,
    exported_tables,
    primary_key,
    unique_column_sets,
)
from comments_service.verbs.archive.export import check_schema, export_row, key_check
from comments_service.verbs.archive.validate import Document, InvalidDocument, check_document
from comments_service.verbs.keyring import Keyring


@dataclass
class RestoreReport:
    """What a restore did, per table, and what the operator should know about it."""

    inserted: dict[str, int] = field(default_factory=dict)
    # --merge: rows whose primary key was stored already, with the same content.
    present: dict[str, int] = field(default_factory=dict)
    # --merge: rows not written because the stored data differs; each names the row.
    clashes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def restore(database: Database, keyring: Keyring, raw_document: Any, *,
            merge: bool = False) -> RestoreReport:
    """Restore ``raw_document`` (parsed JSON); refuses a non-empty database unless merge."""
    return restore_checked(database, keyring, check_document(raw_document), merge=merge)


def restore_checked(database: Database, keyring: Keyring, document: Document, *,
                    merge: bool = False) -> RestoreReport:
    """Restore a document check_document accepted, in one transaction."""
    report = RestoreReport()
    _prepare_emails(document, keyring, report)
    with database.write() as session:
        check_schema(session)
        if not merge:
            _require_empty(session)
        errors: list[str] = []
        clashed: dict[str, set[Any]] = {}
        for table in exported_tables():
            _TableRestore(session, table, document, keyring, merge, clashed).run(report, errors)
        if errors:
            raise InvalidDocument(errors)
        if session.get_bind().dialect.name == "postgresql":
            _advance_sequences(session)
        articles = set(document.articles)
        articles |= {row["article_id"] for row in document.rows.get("comments", [])}
        for article_id in sorted(articles):
            # New versions for every cache, and a re-bake of every page, in this transaction.
            thread_versions.touch_thread(session, article_id)
    _note_missing_passwords(document, report)
    return report


def _prepare_emails(document: Document, keyring: Keyring, report: RestoreReport) -> None:
    """Encrypt clear addresses under this key, and follow hashes made with another key."""
    same_key = document.key_check == key_check(keyring)
    comments = document.rows.get("comments", [])
    if document.options.emails != "clear":
        for row in comments:
            row["email_encrypted"] = ""
        if not same_key and any(row.get("email_hash") for row in comments):
            report.notes.append(
                "the export's email hashes were made with another secret key and it holds "
                "no addresses: privacy export and erase by address will not find these "
                "comments, and their mail subscriptions no longer match")
        return
    remap: dict[str, str] = {}
    for row in comments:
        email = row.get(EMAIL_FIELD, "")
        if not email:
            row["email_encrypted"] = ""
            continue
        new_hash = keyring.email_hash(email)
        if row.get("email_hash"):
            remap[row["email_hash"]] = new_hash
        row["email_hash"] = new_hash
        row["email_encrypted"] = keyring.encrypt_email(email)
    if same_key:
        return
    unmatched = 0
    for row in document.rows.get("email_subscribers", []):
        if row["email_hash"] in remap:
            row["email_hash"] = remap[row["email_hash"]]
        else:
            unmatched += 1
    if unmatched:
        report.notes.append(
            f"{unmatched} mail subscription(s) belong to addresses no exported comment "
            "carries, so they cannot follow the new secret key; they are kept but match no one")


def _require_empty(session: Session) -> None:
    """Refuse a database holding data; what the migrations seeded is replaced instead."""
    held = []
    for table in exported_tables():
        if table.name in SEEDED_TABLES:
            continue
        count = session.scalar(select(func.count()).select_from(table)) or 0
        if count:
            held.append(f"{table.name}: {count} row(s)")
    if held:
        raise ArchiveError(
            "database", f"is not empty ({'; '.join(held)}); restore into a new database, "
            "or pass --merge to add only what is missing without overwriting anything")
    for table in reversed(exported_tables()):
        if table.name in SEEDED_TABLES:
            session.execute(delete(table))


def _stored(session: Session, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    pk = primary_key(table)
    return {tuple(r._mapping[c.name] for c in pk): dict(r._mapping)
            for r in session.execute(select(table))}


def _comparable(table_name: str, row: dict[str, Any]) -> dict[str, Any]:
    # email_encrypted differs on every encryption; the clear email is compared instead.
    return {k: encode(f"{table_name}.{k}", v) for k, v in row.items() if k != "email_encrypted"}


def _insertable(table: Table, row: dict[str, Any], document: Document) -> dict[str, Any]:
    virtual = {EMAIL_FIELD} if carries_email(table, document.options) else set()
    values = {k: v for k, v in row.items() if k not in virtual}
    for name in excluded_columns(table, document.options):
        column = table.columns[name]
        if name not in values and not column.nullable and column.default is None:
            # Not in exports (a password hash, say): empty, which matches no password.
            values[name] = ""
    return values


# What _TableRestore does with a row.
INSERT, PRESENT, WAIT, CLASH, ERROR = "insert", "present", "wait", "clash", "error"


class _TableRestore:
    """Restores one table's rows, parents before children, deciding row by row."""

    def __init__(self, session: Session, table: Table, document: Document, keyring: Keyring,
                 merge: bool, clashed: dict[str, set[Any]]) -> None:
        self.session, self.table, self.document, self.keyring = session, table, document, keyring
        self.merge = merge
        self.rows = document.rows.get(table.name, [])
        self.pk = [c.name for c in primary_key(table)]
        self.stored = _stored(session, table) if merge else {}
        self.unique_sets = unique_column_sets(table)
        self.taken = {names: {tuple(r[n] for n in names) for r in self.stored.values()}
                      for names in self.unique_sets}
        self.foreign = [(fk.parent.name, fk.column.table.name, fk.column.name)
                        for fk in table.foreign_keys]
        # Values each referenced column holds in the database (or will, once inserted).
        self.known: dict[tuple[str, str], set[Any]] = {}
        for _, ref_table, ref_col in self.foreign:
            if ref_table == table.name:
                values = {r[ref_col] for r in self.stored.values()}
            else:
                values = set(session.scalars(select(_table(ref_table).c[ref_col])))
            self.known[(ref_table, ref_col)] = values
        # Values of this table's own referenced columns that rows in the document carry.
        self.coming = {ref_col: {r.get(ref_col) for r in self.rows}
                       for _, ref_table, ref_col in self.foreign if ref_table == table.name}
        self.clashed = clashed
        self.clashed_here = clashed.setdefault(table.name, set())

    def run(self, report: RestoreReport, errors: list[str]) -> None:
        inserted: list[dict[str, Any]] = []
        present = 0
        # A row whose parent (in the same table) comes later in the document waits for it.
        waiting = list(zip(self.rows, self.document.paths.get(self.table.name, []),
                           strict=True))
        while waiting:
            later = []
            for row, where in waiting:
                outcome, message = self._decide(row, where)
                if outcome == WAIT:
                    later.append((row, where))
                elif outcome == PRESENT:
                    present += 1
                elif outcome == INSERT:
                    inserted.append(_insertable(self.table, row, self.document))
                    self._remember(row)
                elif outcome == ERROR:
                    errors.append(message)
                else:
                    self.clashed_here.add(tuple(row[n] for n in self.pk))
                    report.clashes.append(message)
            if len(later) == len(waiting):
                errors += [f"{where}: hangs from a row of {self.table.name} that is not "
                           "restored" for _, where in later]
                break
            waiting = later
        if inserted and not errors:
            self.session.execute(insert(self.table), inserted)
        report.inserted[self.table.name] = len(inserted)
        if self.merge:
            report.present[self.table.name] = present

    def _decide(self, row: dict[str, Any], where: str) -> tuple[str, str]:
        """What to do with one row, and for a clash or an error the line reporting it."""
        name = self.table.name
        key = tuple(row[n] for n in self.pk)
        if key in self.stored:
            mine = _comparable(name, row)
            theirs = export_row(self.table, self.stored[key], self.document.options,
                                self.keyring)
            if all(theirs.get(k) == v for k, v in mine.items()):
                return PRESENT, ""
            return CLASH, (f"{where}: {name} {_show(key)} is stored already with other "
                           "content; the stored row is kept")
        for names in self.unique_sets:
            values = tuple(row.get(n) for n in names)
            if None not in values and values in self.taken[names]:
                return CLASH, (f"{where}: {', '.join(names)} {_show(values)} is used by a "
                               "stored row; this row is not restored")
        for column, ref_table, ref_col in self.foreign:
            value = row.get(column)
            if value is None:
                continue
            # First: a clashing row's id is stored, but as somebody else's row.
            if (value,) in self.clashed.get(ref_table, set()):
                return CLASH, (f"{where}: {column} refers to {ref_table} {value}, which was "
                               "not restored; this row is not restored either")
            if value in self.known[(ref_table, ref_col)]:
                continue
            if ref_table == name and value in self.coming[ref_col]:
                return WAIT, ""
            return ERROR, (f"{where}.{column}: refers to {ref_table} {value}, which is "
                           "neither in the document nor stored")
        return INSERT, ""

    def _remember(self, row: dict[str, Any]) -> None:
        for names in self.unique_sets:
            self.taken[names].add(tuple(row.get(n) for n in names))
        for (ref_table, ref_col), values in self.known.items():
            if ref_table == self.table.name:
                values.add(row[ref_col])


def _table(name: str) -> Table:
    """The exported table called ``name``."""
    return next(t for t in exported_tables() if t.name == name)


def _show(key: tuple[Any, ...]) -> str:
    return str(key[0]) if len(key) == 1 else str(key)


def _advance_sequences(session: Session) -> None:
    """Move each id sequence past the restored ids, so the next insert gets a fresh one."""
    for table in exported_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        highest = session.scalar(select(func.max(column)))
        sequence = session.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                  {"t": table.name, "c": column.name})
        if highest is None or sequence is None:
            continue
        # Never backwards: a merge into a database whose sequence ran ahead keeps it.
        session.execute(text(
            "SELECT setval(CAST(:s AS regclass), GREATEST(:m, "
            "COALESCE(pg_sequence_last_value(CAST(:s AS regclass)), 0)))"),
            {"s": sequence, "m": highest})


def _note_missing_passwords(document: Document, report: RestoreReport) -> None:
    if document.options.secrets or not report.inserted.get("staff_users"):
        return
    report.notes.append(
        f"{report.inserted['staff_users']} staff account(s) restored without a password "
        "(the export has no password hashes): set one with comments-service staff "
        "set-password USERNAME")
