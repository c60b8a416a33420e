"""Page commands: bake (fill built pages with their approved comments)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from comments_service.articles.article import ARTICLE_ID_RE
from comments_service.config import Settings
from comments_service.site.bake import bake_site
from comments_service.store.database import Database


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bake = subparsers.add_parser(
        "bake",
        help="fill the comments section of built pages with approved comments",
        description="Fill every page's comments section (between its comments:begin and "
        "comments:end markers) with that article's approved comments. Everything outside "
        "the markers is left byte for byte as it was; running it twice changes nothing.",
    )
    bake.add_argument(
        "site_dir", nargs="?", type=Path, help="built site folder (default: COMMENTS_SITE_DIR)"
    )
    bake.add_argument("--article", metavar="ID", help="bake only this article's page(s)")
    bake.set_defaults(handler=bake_command)


def bake_command(args: argparse.Namespace, settings: Settings) -> int:
    site_dir: Path = args.site_dir or settings.site_dir
    if not site_dir.is_dir():
        print(f"bake: {site_dir} is not a folder; build the site first", file=sys.stderr)
        return 2
    if args.article is not None and not ARTICLE_ID_RE.match(args.article):
        print(f"bake: --article: '{args.article}' is not an article id", file=sys.stderr)
        return 2
    if settings.is_sqlite:
        db_file = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        if not db_file.is_file():
            print(f"bake: no comments database at {db_file}; set COMMENTS_DATABASE_URL "
                  "or run the service once to create it", file=sys.stderr)
            return 1
    database = Database(settings)
    try:
        report = bake_site(database, site_dir, args.article)
    except RuntimeError as exc:  # no secret key in production mode
        print(f"bake: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"bake: the comments database is unreachable: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if args.article is not None and not report.pages_scanned:
        print(f"bake: no page under {site_dir} has a comments section for '{args.article}'",
              file=sys.stderr)
        return 1
    print(report.summary())
    return 0
