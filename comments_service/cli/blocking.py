"""Blocklist and spam classifier commands: block add|list|remove, spam status|rescore."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.verbs import spam_learning
from comments_service.verbs.audit import Actor, ModerationError, NotFound
from comments_service.verbs.blocklist import ACTIONS, KINDS, Blocklist
from comments_service.verbs.keyring import Keyring

from .numbers import row_id
from .staff import open_database


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    block = subparsers.add_parser(
        "block", help="manage the blocklist (addresses, domains, networks, phrases)",
        description="Rules act on new comments: hold (queue with a note), spam (stored as "
        "spam) or refuse (a neutral 422). Addresses and networks are stored as keyed "
        "hashes. Recorded in the audit log as cli:<your login name>.")
    commands = block.add_subparsers(dest="block_command", required=True, metavar="ACTION")
    add = commands.add_parser("add", help="add a rule")
    add.add_argument("kind", choices=KINDS)
    add.add_argument("value", help="the address, domain, IP or CIDR network, or phrase; '-' "
                     "reads it from stdin (keeps an address out of shell history)")
    add.add_argument("--action", choices=ACTIONS, default="hold")
    add.add_argument("--note", default="", help="a note for staff")
    add.set_defaults(handler=block_command)
    listing = commands.add_parser("list", help="list the rules")
    listing.set_defaults(handler=block_command)
    remove = commands.add_parser("remove", help="remove a rule by its number")
    remove.add_argument("id", type=row_id, metavar="ID")
    remove.set_defaults(handler=block_command)

    spam = subparsers.add_parser(
        "spam", help="the local spam classifier: what it learned, rescoring",
        description="The classifier learns from staff decisions only and never leaves the "
        "server.")
    spam_commands = spam.add_subparsers(dest="spam_command", required=True, metavar="ACTION")
    spam_commands.add_parser("status", help="decisions learned and whether it scores yet"
                             ).set_defaults(handler=spam_command)
    spam_commands.add_parser("rescore", help="score every pending comment again"
                             ).set_defaults(handler=spam_command)


def _open(settings: Settings, name: str) -> Database | None:
    try:
        return open_database(settings)
    except SQLAlchemyError as exc:
        print(f"{name}: cannot open the database: {exc}", file=sys.stderr)
        return None


def block_command(args: argparse.Namespace, settings: Settings) -> int:
    database = _open(settings, "block")
    if database is None:
        return 1
    blocklist = Blocklist(database, Keyring(settings.secret()))
    actor = Actor.operator(getpass.getuser())
    try:
        if args.block_command == "list":
            for rule in blocklist.all():
                note = f"  ({rule.note})" if rule.note else ""
                print(f"{rule.id}\t{rule.kind}\t{rule.label}\t{rule.action}{note}")
            return 0
        if args.block_command == "remove":
            removed = blocklist.remove(actor, args.id)
            print(f"removed rule {removed.id}: {removed.kind} {removed.label}")
            return 0
        value = sys.stdin.readline().strip() if args.value == "-" else args.value
        added = blocklist.add(actor, args.kind, value, args.action, args.note)
        print(f"added rule {added.id}: {added.kind} {added.label}: {added.action}")
        return 0
    except ModerationError as exc:
        print(f"block: {exc}", file=sys.stderr)
        return 2
    except NotFound as exc:
        print(f"block: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def spam_command(args: argparse.Namespace, settings: Settings) -> int:
    database = _open(settings, "spam")
    if database is None:
        return 1
    try:
        if args.spam_command == "rescore":
            print(f"rescored {spam_learning.rescore_pending(database)} pending comment(s)")
            return 0
        state = spam_learning.status(database)
        ready = "scoring" if state.ready else (
            f"silent until {state.min_decisions} of each are decided")
        print(f"learned from {state.spam_docs} spam or rejected and {state.ham_docs} approved "
              f"comments ({state.features} features); {ready}; likely spam at "
              f"{state.threshold:.2f} or more")
        return 0
    finally:
        database.dispose()
