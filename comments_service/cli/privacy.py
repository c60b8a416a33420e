"""Privacy and mail commands: privacy export, erase, purge-ips; notify run-once, retry-failed."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.verbs import failed_mail, outbox, privacy
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor

from .numbers import row_id
from .staff import open_database


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    privacy = subparsers.add_parser("privacy", help="export or erase a commenter's data",
                                    description="A commenter's data, found by email address.")
    commands = privacy.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")

    export = commands.add_parser("export", help="print everything stored for an address, "
                                 "as JSON")
    export.add_argument("email")
    export.set_defaults(handler=export_command)

    erase = commands.add_parser(
        "erase", help="remove name, email and IP hash from an address's comments")
    erase.add_argument("email")
    choice = erase.add_mutually_exclusive_group(required=True)
    choice.add_argument("--keep-text", dest="keep_text", action="store_true",
                        help="keep the text; published comments show 'Former reader'")
    choice.add_argument("--remove-text", dest="keep_text", action="store_false",
                        help="remove the text too and take the comments down")
    erase.set_defaults(handler=erase_command)

    purge = commands.add_parser(
        "purge-ips", help="delete IP hashes older than COMMENTS_IP_HASH_RETENTION_DAYS")
    purge.set_defaults(handler=purge_command)

    mail = subparsers.add_parser("notify", help="mail notifications")
    mail_commands = mail.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    once = mail_commands.add_parser(
        "run-once", help="queue mails for new comments and send what is due, then exit")
    once.set_defaults(handler=run_once_command)
    retry = mail_commands.add_parser(
        "retry-failed", help="put failed mails back in the queue with a fresh retry period")
    retry.add_argument("--id", dest="mail_ids", type=row_id, action="append", metavar="ID",
                       help="only this mail (repeat for several); default: every failed mail")
    retry.set_defaults(handler=retry_failed_command)


def _run(name: str, settings: Settings, action) -> int:  # type: ignore[no-untyped-def]
    try:
        database = open_database(settings)
        keyring = Keyring(settings.secret())
    except (RuntimeError, SQLAlchemyError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    try:
        return action(database, keyring)
    except privacy.ErasureError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database, keyring: Keyring) -> int:
        data = privacy.export_by_email(database, keyring, args.email,
                                       Actor.operator(getpass.getuser()))
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    return _run("privacy export", settings, action)


def erase_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database, keyring: Keyring) -> int:
        report = privacy.erase_by_email(database, keyring, args.email,
                                        Actor.operator(getpass.getuser()),
                                        keep_text=args.keep_text)
        what = "text removed" if report.text_removed else "text kept as 'Former reader'"
        print(f"erased {report.comments} comment(s) ({what})")
        return 0
    return _run("privacy erase", settings, action)


def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database, keyring: Keyring) -> int:
        count = privacy.purge_ip_hashes(database)
        print(f"purged {count} IP hash(es) older than {settings.ip_hash_retention_days} days")
        return 0
    return _run("privacy purge-ips", settings, action)


def run_once_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database, keyring: Keyring) -> int:
        handled, report = outbox.run_once(database, keyring, Catalog(settings.docs_dir))
        if not settings.smtp_host:
            print("COMMENTS_SMTP_HOST is not set: no mail is queued or sent")
        print(f"{handled} new comment(s) handled; sent {report.sent}, "
              f"will retry {report.retried}, gave up on {report.failed}")
        return 0
    return _run("notify run-once", settings, action)


def retry_failed_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database, keyring: Keyring) -> int:
        count = failed_mail.retry_failed(database, keyring, args.mail_ids)
        print(f"put {count} failed mail(s) back in the queue")
        if not settings.smtp_host:
            print("COMMENTS_SMTP_HOST is not set: nothing will be sent until it is")
        return 0
    return _run("notify retry-failed", settings, action)
