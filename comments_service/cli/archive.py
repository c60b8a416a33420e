"""Moving out and back: export, restore, backup, and migrate to a named revision."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import MigrationTargetError, migrate_to, upgrade
from comments_service.verbs.archive import backup, export, restore
from comments_service.verbs.archive.document import ArchiveError, Options
from comments_service.verbs.archive.validate import InvalidDocument, check_document
from comments_service.verbs.keyring import Keyring


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    exporter = subparsers.add_parser(
        "export", help="write every comment, account, template, subscription and audit "
        "entry to one JSON file",
        description="Write the whole database (but the outbox and short-lived state) to one "
        "versioned JSON document, for moving to a new host under the same controller. "
        "Emails are written as keyed hashes unless --with-emails.")
    exporter.add_argument("file", type=Path, metavar="FILE")
    exporter.add_argument("--with-emails", action="store_true",
                          help="write email addresses in clear (commenters' and staff's)")
    exporter.add_argument("--with-secrets", action="store_true",
                          help="write staff password hashes, so accounts sign in as before")
    exporter.set_defaults(handler=export_command)

    restorer = subparsers.add_parser(
        "restore", help="load an export into an empty database (or --merge into one)",
        description="Check an export document, then load it in one transaction. Refuses a "
        "database that holds data unless --merge, which adds only rows not stored yet.")
    restorer.add_argument("file", type=Path, metavar="FILE")
    restorer.add_argument("--merge", action="store_true",
                          help="add to a database that holds data; never overwrites a row")
    restorer.set_defaults(handler=restore_command)

    backuper = subparsers.add_parser(
        "backup", help="copy the SQLite database while the service runs",
        description="A consistent copy of the SQLite database, checked with "
        "integrity_check. On PostgreSQL use pg_dump -Fc.")
    backuper.add_argument("file", type=Path, metavar="FILE")
    backuper.set_defaults(handler=backup_command)


def add_migrate_target(migrate: argparse.ArgumentParser) -> None:
    """The `migrate --to REVISION` option, on the parser cli/service.py builds."""
    migrate.add_argument(
        "--to", metavar="REVISION", default=None,
        help="upgrade or downgrade to this revision (a revision id on any branch, heads, or "
        "base); without it, upgrade to heads")


def migrate_target_command(args: argparse.Namespace, settings: Settings) -> int:
    """`migrate --to REVISION`: move the schema to exactly that revision."""
    database = Database(settings)
    try:
        heads = migrate_to(database, args.to)
    except MigrationTargetError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"migrate: cannot migrate the database: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"database is at revision(s) {', '.join(heads) or 'base (no tables)'}")
    return 0


def _keyring(settings: Settings, command: str) -> Keyring | None:
    try:
        return Keyring(settings.secret())
    except RuntimeError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    keyring = _keyring(settings, "export")
    if keyring is None:
        return 2
    options = Options(emails="clear" if args.with_emails else "hashed",
                      secrets=args.with_secrets)
    database = Database(settings)
    try:
        counts = export.write_export(database, keyring, options, args.file)
    except (ArchiveError, OSError, SQLAlchemyError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"wrote {args.file}: {summary}")
    if args.with_emails:
        print("it holds email addresses in clear: keep it as safe as the database itself")
    return 0


def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    keyring = _keyring(settings, "restore")
    if keyring is None:
        return 2
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"restore: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"restore: {args.file}: not a JSON document: {exc}", file=sys.stderr)
        return 2
    try:
        checked = check_document(document)
    except InvalidDocument as exc:
        print(f"restore: {args.file} cannot be restored; nothing was changed:\n{exc}",
              file=sys.stderr)
        return 1
    database = Database(settings)
    try:
        # Only a document worth restoring gets the schema migrated for it.
        upgrade(database)
        report = restore.restore_checked(database, keyring, checked, merge=args.merge)
    except InvalidDocument as exc:
        print(f"restore: {args.file} cannot be restored; nothing was changed:\n{exc}",
              file=sys.stderr)
        return 1
    except ArchiveError as exc:
        print(f"restore: {exc}; nothing was changed", file=sys.stderr)
        return 1
    except (SQLAlchemyError, CommandError) as exc:
        # CommandError: Alembic cannot place the database (made by a newer release?).
        print(f"restore: {exc}; nothing was changed", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    summary = ", ".join(f"{name} {count}" for name, count in sorted(report.inserted.items()))
    print(f"restored from {args.file}: {summary}")
    if args.merge:
        skipped = sum(report.present.values()) + len(report.clashes)
        print(f"skipped {skipped} row(s) already stored: {sum(report.present.values())} the "
              f"same, {len(report.clashes)} clashing (kept as stored)")
        for clash in report.clashes:
            print(f"  clash: {clash}")
    for note in report.notes:
        print(f"note: {note}")
    return 0


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    database = Database(settings)
    try:
        report = backup.backup(database, args.file)
    except ArchiveError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2 if exc.field == "database" else 1
    except OSError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"wrote {report.path}: {report.pages} pages, {report.comments} comments, "
          "integrity check ok")
    return 0
