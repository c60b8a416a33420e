"""Staff account commands: staff add, list, update, disable, enable, set-password."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.verbs import accounts, staff_time


def open_database(settings: Settings) -> Database:
    """The configured database, brought to the current schema (cheap when it already is)."""
    database = Database(settings)
    upgrade(database)
    return database


def read_password(prompt: str = "Password: ") -> str:
    """A password from a hidden prompt (asked twice), or the first line of piped stdin.

    Never from argv: command lines end up in shell history and process listings.
    """
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat the password: ") != first:
            raise accounts.AccountError("password", "the two entries differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    staff = subparsers.add_parser("staff", help="manage staff accounts",
                                  description="Manage the accounts that moderate comments.")
    commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")

    add = commands.add_parser(
        "add", help="add a staff account (password from a prompt, or from stdin when piped)")
    add.add_argument("username")
    add.add_argument("--display-name", required=True,
                     help="name shown on the account's replies, e.g. 'Sam from the team'")
    add.add_argument("--signature", default="", help="line shown under the account's replies")
    add.add_argument("--role", choices=["moderator", "admin"], default="moderator",
                     help="admins also edit templates and export or erase data")
    add.add_argument("--email", default="", help="the staff member's own address (optional)")
    add.set_defaults(handler=add_command)

    listing = commands.add_parser("list", help="list staff accounts")
    listing.set_defaults(handler=list_command)

    disable = commands.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    disable.set_defaults(handler=disable_command, disabled=True)

    enable = commands.add_parser("enable", help="enable a disabled account again")
    enable.add_argument("username")
    enable.set_defaults(handler=disable_command, disabled=False)

    update = commands.add_parser(
        "update", help="change the display name and signature shown on the account's "
        "replies, or the time zone its staff pages use")
    update.add_argument("username")
    update.add_argument("--display-name", default=None)
    update.add_argument("--signature", default=None,
                        help="with --display-name; empty when left out")
    update.add_argument("--time-zone", default=None,
                        help="IANA zone for times on staff pages, e.g. Europe/Madrid; "
                        "'' for the team's default (COMMENTS_STAFFED_TIMEZONE)")
    update.set_defaults(handler=update_command)

    password = commands.add_parser(
        "set-password", help="set a new password (from a prompt, or stdin when piped); "
        "ends the account's sessions")
    password.add_argument("username")
    password.set_defaults(handler=set_password_command)


def _run(name: str, settings: Settings, action) -> int:  # type: ignore[no-untyped-def]
    try:
        database = open_database(settings)
    except (RuntimeError, SQLAlchemyError) as exc:
        print(f"staff {name}: {exc}", file=sys.stderr)
        return 2
    try:
        return action(database)
    except accounts.AccountError as exc:
        print(f"staff {name}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database) -> int:
        password = read_password()
        user = accounts.create_staff(database, args.username, password,
                                 display_name=args.display_name, signature=args.signature,
                                 role=args.role, email=args.email)
        print(f"added {user.role.value} '{user.username}' ({user.display_name})")
        return 0
    return _run("add", settings, action)


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database) -> int:
        users = accounts.list_staff(database)
        if not users:
            print("no staff accounts yet; add one with: comments-service staff add USERNAME "
                  "--display-name NAME")
        for user in users:
            state = "disabled" if user.disabled else "active"
            print(f"{user.username}\t{user.role.value}\t{state}\t{user.display_name}")
        return 0
    return _run("list", settings, action)


def disable_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database) -> int:
        accounts.set_disabled(database, args.username, args.disabled)
        print(f"{'disabled' if args.disabled else 'enabled'} '{args.username}'")
        return 0
    return _run("disable" if args.disabled else "enable", settings, action)


def set_password_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database) -> int:
        password = read_password("New password: ")
        accounts.set_password(database, args.username, password)
        print(f"password changed for '{args.username}'; its sessions have ended")
        return 0
    return _run("set-password", settings, action)


def update_command(args: argparse.Namespace, settings: Settings) -> int:
    def action(database: Database) -> int:
        if args.display_name is None and args.time_zone is None:
            raise accounts.AccountError("display_name", "give --display-name, --time-zone "
                                        "or both")
        if args.time_zone is not None:
            zone = staff_time.set_time_zone(database, args.username, args.time_zone)
            print(f"'{args.username}' sees staff times in "
                  f"{zone or staff_time.default_zone_name(settings) + ' (the default)'}")
        if args.display_name is not None:
            accounts.update_profile(database, args.username, display_name=args.display_name,
                                    signature=args.signature or "")
            print(f"updated '{args.username}'; pages with its replies will be re-baked")
        return 0
    return _run("update", settings, action)
