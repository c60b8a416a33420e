"""Page commands: build-site (build, then swap in) and bake (fill pages with comments)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from comments_service.articles.article import ARTICLE_ID_RE
from comments_service.config import Settings
from comments_service.site.bake import bake_site
from comments_service.site.build import SiteBuildFailed, build_site
from comments_service.site.post_build import finish_site
from comments_service.site.signposts import signposts_for
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

    build = subparsers.add_parser(
        "build-site",
        help="build the site into a fresh folder and swap it in only if the build succeeds",
        description="Run the MkDocs build (strict by default) into a new folder beside the "
        "site folder, and replace the site folder with it only when the build succeeds, so "
        "a failed build never leaves the served site empty.",
    )
    build.add_argument("-f", "--config-file", type=Path, default=Path("mkdocs.yml"),
                       help="MkDocs configuration (default: mkdocs.yml)")
    build.add_argument("--site-dir", type=Path,
                       help="site folder to replace (default: the one mkdocs.yml names)")
    build.add_argument("--no-strict", action="store_true",
                       help="do not fail the build on MkDocs warnings")
    build.add_argument("-q", "--quiet", action="store_true", help="show only warnings and errors")
    build.set_defaults(handler=build_command)


def build_command(args: argparse.Namespace, settings: Settings) -> int:
    if not args.config_file.is_file():
        print(f"build-site: --config-file: {args.config_file} is not a file", file=sys.stderr)
        return 2
    # MkDocs' own command line sets up its log output; in-process we do, so editors see
    # every warning that fails a strict build.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    mkdocs_log = logging.getLogger("mkdocs")
    mkdocs_log.addHandler(handler)
    mkdocs_log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        built = build_site(args.config_file, args.site_dir, strict=not args.no_strict)
    except SiteBuildFailed as exc:
        print(f"build-site: {exc}", file=sys.stderr)
        return 1
    finally:
        mkdocs_log.removeHandler(handler)
    print(f"built {built.files} files into {built.site_dir}")
    return 0


def bake_command(args: argparse.Namespace, settings: Settings) -> int:
    site_dir: Path = args.site_dir or settings.site_dir
    if not site_dir.is_dir():
        print(f"bake: {site_dir} is not a folder; build the site first", file=sys.stderr)
        return 2
    if args.article is not None and not ARTICLE_ID_RE.match(args.article):
        print(f"bake: --article: '{args.article}' is not an article id", file=sys.stderr)
        return 2
    if args.article is None:
        # A site built without the MkDocs plugin (Zensical) gets the plugin's page work here.
        try:
            signposts = signposts_for(settings)
        except ValueError as exc:  # crisis resources or staffed hours, naming the field
            print(f"bake: {exc}", file=sys.stderr)
            return 2
        finished = finish_site(site_dir, settings.docs_dir, signposts)
        if finished.files_changed:
            print(finished.summary())
        for article_id in sorted(finished.unknown_articles):
            print(f"bake: references for '{article_id}' not written: no valid article with "
                  f"that id in {settings.docs_dir} (run comments-service check-docs)",
                  file=sys.stderr)
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
    except ValueError as exc:  # crisis resources or staffed hours, naming the field
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
