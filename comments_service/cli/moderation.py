"""Moderation commands: comments list, approve, reject, spam, delete, reply, note, withdraw."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.verbs import accounts, urgency
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import (
    Actor,
    Moderation,
    ModerationError,
    NotFound,
    QueueFilter,
)
from comments_service.verbs.outcome_mail import REJECTION_REASONS

from .numbers import page_number, row_id
from .staff import open_database

STATUSES = ["pending", "approved", "rejected", "spam", "deleted", "all"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    comments = subparsers.add_parser(
        "comments", help="moderate comments from the command line",
        description="The staff queue's actions, for operators and scripts. Actions are "
        "recorded in the audit log as cli:<your login name>.")
    commands = comments.add_subparsers(dest="comments_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help="list comments, pending ones urgent first")
    listing.add_argument("--status", choices=STATUSES, default="pending")
    listing.add_argument("--article", default="", metavar="ID", help="only this article")
    listing.add_argument("--search", default="", help="text, name or exact email address")
    listing.add_argument("--page", type=page_number, default=1)
    listing.set_defaults(handler=list_command)

    for action, verb in (("approve", "publish"), ("reject", "refuse"),
                         ("spam", "mark as spam"), ("delete", "take down")):
        parser = commands.add_parser(action, help=f"{verb} one or more comments")
        parser.add_argument("ids", nargs="+", type=row_id, metavar="ID")
        if action == "reject":
            parser.add_argument(
                "--reason", choices=sorted(REJECTION_REASONS), default="",
                help="why, for the kind note mailed to readers who asked for mail")
        parser.set_defaults(handler=action_command, action=action)

    reply = commands.add_parser(
        "reply", help="publish a staff reply (body from --body or stdin); approves a pending "
        "parent")
    reply.add_argument("id", type=row_id, metavar="ID", help="the comment answered")
    reply.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                       help="the staff account the reply is signed by")
    reply.add_argument("--body", help="reply text (default: read from stdin)")
    reply.add_argument("--private", action="store_true",
                       help="mail the reply to the comment's author only; publish nothing")
    reply.add_argument("--publish-parent", action="store_true",
                       help="confirm that an urgent pending comment may be published with "
                       "the public reply (refused without it)")
    reply.set_defaults(handler=reply_command)

    note = commands.add_parser("note", help="set a content note (\"\" removes it); the page "
                               "folds the comment's text behind it")
    note.add_argument("id", type=row_id, metavar="ID")
    note.add_argument("note", metavar="TEXT", help="at most 80 characters")
    note.set_defaults(handler=note_command)

    withdraw = commands.add_parser("withdraw", help="withdraw a reader's comment at their "
                                   "request")
    withdraw.add_argument("id", type=row_id, metavar="ID")
    withdraw.set_defaults(handler=withdraw_command)


def _moderation(settings: Settings, database: Database) -> Moderation:
    return Moderation(database, Keyring(settings.secret()), Catalog(settings.docs_dir))


def _run(name: str, settings: Settings, action) -> int:  # type: ignore[no-untyped-def]
    try:
        database = open_database(settings)
        moderation = _moderation(settings, database)
    except (RuntimeError, SQLAlchemyError) as exc:
        print(f"comments {name}: {exc}", file=sys.stderr)
        return 2
    try:
        return action(moderation)
    except (ModerationError, NotFound) as exc:
        print(f"comments {name}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(moderation: Moderation) -> int:
        page = moderation.queue(QueueFilter(status=args.status, article_id=args.article,
                                            query=args.search, page=args.page))
        for item in page.items:
            c = item.comment
            flags = " URGENT" if c.urgent else ""
            staff = " [staff]" if c.is_staff else ""
            reply_to = f" reply to #{c.parent_id}" if c.parent_id else ""
            print(f"#{c.id} {c.status.value}{flags} {c.created_at:%Y-%m-%d %H:%M}Z "
                  f"{c.article_id}{reply_to}")
            print(f"  {c.author_name}{staff} <{item.email or 'no email'}>")
            if c.urgent:
                for reason in urgency.describe(c.urgent_reasons):
                    print(f"  urgent: {reason}")
            for line in c.body.splitlines() or [""]:
                print(f"  | {line}")
        print(f"{page.total} comment(s); page {page.page} of {page.pages}")
        return 0
    return _run("list", settings, action)


def action_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(moderation: Moderation) -> int:
        changed = moderation.bulk(args.action, args.ids, Actor.operator(getpass.getuser()),
                                  getattr(args, "reason", ""))
        print(f"{args.action}: {changed} of {len(set(args.ids))} comment(s) changed")
        return 0
    return _run(args.action, settings, action)


def reply_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(moderation: Moderation) -> int:
        with moderation.database.read() as session:
            user = accounts.get_staff(session, args.username)
        if user is None or user.disabled:
            print(f"comments reply: --as: no enabled staff account named '{args.username}'",
                  file=sys.stderr)
            return 1
        body = args.body if args.body is not None else sys.stdin.read()
        if args.private:
            moderation.reply_privately(args.id, user.id, body)
            print(f"private reply to the author of #{args.id} queued for mail, signed "
                  f"{user.display_name}; nothing was published")
            return 0
        reply = moderation.reply_as_staff(args.id, user.id, body,
                                          publish_parent=args.publish_parent)
        print(f"published reply #{reply.id} to #{args.id} as {user.display_name}")
        return 0
    return _run("reply", settings, action)


def note_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(moderation: Moderation) -> int:
        changed = moderation.set_content_note(args.id, args.note,
                                              Actor.operator(getpass.getuser()))
        print(f"content note of #{args.id} " + ("saved" if changed else "unchanged"))
        return 0
    return _run("note", settings, action)


def withdraw_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(moderation: Moderation) -> int:
        changed = moderation.withdraw_for_reader(args.id, Actor.operator(getpass.getuser()))
        print(f"#{args.id} " + ("withdrawn" if changed else "was already out of view"))
        return 0
    return _run("withdraw", settings, action)
