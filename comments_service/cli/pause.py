"""The site-wide pause switch: comments-service pause on|off|status [--message TEXT]."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.site.bake import bake_site
from comments_service.verbs import pause
from comments_service.verbs.audit import Actor, ModerationError

from .staff import open_database


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "pause", help="close (on) or reopen (off) every comment form on the site",
        description="While paused, every post is refused (403), pages show the crisis "
        "resources in place of the form and existing comments stay visible. The state is "
        "in the database, so every service process sees it at once; every article page is "
        "queued for re-baking. Recorded in the audit log as cli:<your login name>.")
    parser.add_argument("state", choices=["on", "off", "status"])
    parser.add_argument("--message", metavar="TEXT",
                        help="what readers are told while paused (on only; '' restores the "
                        "standard sentence; default: keep the last one)")
    parser.add_argument("--bake", action="store_true",
                        help="also re-bake COMMENTS_SITE_DIR now (for sites where no service "
                        "runs the re-baker)")
    parser.set_defaults(handler=pause_command)


def _describe(state: pause.PauseState) -> str:
    if not state.paused:
        return "comments are open"
    since = f" since {state.changed_at:%Y-%m-%d %H:%M} UTC" if state.changed_at else ""
    return f"comments are PAUSED{since} by {state.changed_by}: {state.reader_message}"


def pause_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.message is not None and args.state != "on":
        print("pause: --message: only with 'pause on'", file=sys.stderr)
        return 2
    try:
        database = open_database(settings)
    except SQLAlchemyError as exc:
        print(f"pause: cannot open the database: {exc}", file=sys.stderr)
        return 1
    try:
        if args.state == "status":
            print(_describe(pause.current(database)))
            return 0
        articles = [article.id for article in Catalog(settings.docs_dir).all()]
        try:
            state = pause.set_paused(database, Actor.operator(getpass.getuser()),
                                     args.state == "on", articles, message=args.message)
        except ModerationError as exc:
            print(f"pause: --{exc}", file=sys.stderr)
            return 2
        print(_describe(state))
        print(f"queued {len(articles)} article page(s) for re-baking")
        if args.bake:
            if not settings.site_dir.is_dir():
                print(f"pause: --bake: {settings.site_dir} is not a built site",
                      file=sys.stderr)
                return 1
            print(bake_site(database, settings).summary())
        return 0
    finally:
        database.dispose()
