"""The import command: comments-service import wordpress|disqus|isso SOURCE."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.site.bake import SiteBaker
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config
from comments_service.verbs.audit import Actor
from comments_service.verbs.importers import parse_export
from comments_service.verbs.importers.apply import import_comments
from comments_service.verbs.importers.mapping import read_article_mapping, read_staff_mapping
from comments_service.verbs.importers.matching import ArticleMatcher
from comments_service.verbs.importers.records import SOURCE_SYSTEMS, ImportSourceError
from comments_service.verbs.importers.report import ImportReport
from comments_service.verbs.importers.staff_map import StaffMap
from comments_service.verbs.keyring import Keyring

from .staff import open_database

# Below these sizes an import is over before progress would be worth printing.
PROGRESS_MIN_BYTES = 1 << 20
PROGRESS_MIN_ROWS = 1000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import", help="import comments from WordPress, Disqus or Isso",
        description="Import the comments of another system: a WordPress export (WXR 1.1 or "
        "1.2, Tools > Export), a Disqus XML export (gzipped or not), or an Isso SQLite "
        "database (opened read-only). Threads are matched to articles by the --mapping file, "
        "else by URL path, else by slug; unmatched threads are listed and skipped. Nothing "
        "stored is ever changed and importing the same file again adds nothing. Prints, per "
        "article, what was found, imported and skipped.")
    parser.add_argument("kind", choices=SOURCE_SYSTEMS, metavar="KIND",
                        help="the old system: " + ", ".join(SOURCE_SYSTEMS))
    parser.add_argument("source", type=Path, metavar="SOURCE",
                        help="the export file (Isso: its comments database)")
    parser.add_argument("--mapping", type=Path, metavar="FILE",
                        help="CSV or YAML: source (URL, path, slug, post id or Disqus "
                        "identifier) -> article (our article id)")
    parser.add_argument("--staff-mapping", type=Path, metavar="FILE",
                        help="CSV or YAML: source (WordPress user id or login, Disqus "
                        "username, Isso author name) -> staff (our staff username), with "
                        "email (required for Isso)")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be imported; change nothing")
    parser.set_defaults(handler=import_command)


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one import and print its report; 1 for a problem with the files, 2 for setup."""
    try:
        keyring = Keyring(settings.secret())
    except RuntimeError as exc:
        return _fail(str(exc), 2)
    if not settings.docs_dir.is_dir():
        return _fail(f"the docs folder {settings.docs_dir} does not exist; threads are matched "
                     "against its articles (set COMMENTS_DOCS_DIR)", 2)
    articles = Catalog(settings.docs_dir).all()
    try:
        mapping = read_article_mapping(args.mapping, (a.id for a in articles)) \
            if args.mapping else []
        staff_entries = read_staff_mapping(args.staff_mapping, args.kind) \
            if args.staff_mapping else []
        export = parse_export(args.kind, args.source,
                              progress=_progress(f"reading {args.source.name}",
                                                 _minimum(args.kind)))
    except ImportSourceError as exc:
        return _fail(str(exc), 1)
    matcher = ArticleMatcher(articles, settings.site_url, mapping)

    try:
        database = _database(settings, args.dry_run)
    except (RuntimeError, SQLAlchemyError) as exc:
        return _fail(str(exc), 2)
    try:
        session_of = database.read if args.dry_run else database.write
        with session_of() as session:
            staff = StaffMap.load(session, args.kind, staff_entries,
                                  args.staff_mapping or Path())
            report = import_comments(
                session, settings, keyring, export, matcher, staff, dry_run=args.dry_run,
                actor=Actor.operator(getpass.getuser()).label,
                progress=_progress("storing comments", PROGRESS_MIN_ROWS))
        if not args.dry_run:
            _rebake(database, settings, report)
    except ImportSourceError as exc:
        return _fail(str(exc), 1)
    except IntegrityError:
        return _fail("another import stored some of these comments at the same time; nothing "
                     "was stored by this one, run it again", 1)
    except SQLAlchemyError as exc:
        return _fail(f"the comments database failed, nothing was imported: {exc}", 2)
    finally:
        database.dispose()
    print(report.render(), end="")
    return 0


def _database(settings: Settings, dry_run: bool) -> Database:
    """The database; migrated for a real run, only checked for a dry run (no change at all)."""
    if not dry_run:
        return open_database(settings)
    if settings.is_sqlite:
        db_file = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        if not db_file.is_file():
            raise RuntimeError(f"no comments database at {db_file} yet; run "
                               "`comments-service migrate` first (a dry run creates nothing)")
    database = Database(settings)
    heads = set(ScriptDirectory.from_config(alembic_config(database)).get_heads())
    with database.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        database.dispose()
        raise RuntimeError("the database schema is not current; run `comments-service "
                           "migrate` first (a dry run changes nothing, the schema included)")
    return database


def _rebake(database: Database, settings: Settings, report: ImportReport) -> None:
    """Bake the changed articles' pages now when the site is here; the queued requests
    (touch_thread) have the service's re-baker do it, and publish, either way."""
    if not report.touched or not settings.site_dir.is_dir():
        return
    baker = SiteBaker(database, settings.site_dir, settings.nosnippet)
    changed = 0
    try:
        for article_id in report.touched:
            changed += len(baker.bake(article_id).pages_changed)
    except OSError as exc:
        print(f"import: the comments are stored, but baking {settings.site_dir} failed "
              f"({exc}); the service's re-baker will retry", file=sys.stderr)
        return
    report.baked_pages = changed


def _minimum(kind: str) -> int:
    # The XML parsers count bytes read; the Isso one counts rows.
    return PROGRESS_MIN_ROWS if kind == "isso" else PROGRESS_MIN_BYTES


def _progress(label: str, minimum: int) -> Callable[[int, int], None]:
    """A progress line on stderr every tenth of the way, once there is enough to read."""
    shown: set[int] = set()

    def show(done: int, total: int) -> None:
        if total < minimum:
            return
        tenth = min(10, done * 10 // max(total, 1))
        if tenth not in shown:
            shown.add(tenth)
            print(f"import: {label}: {tenth * 10}%", file=sys.stderr, flush=True)

    return show


def _fail(message: str, status: int) -> int:
    print(f"import: {message}", file=sys.stderr)
    return status
