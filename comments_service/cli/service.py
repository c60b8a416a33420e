"""Service commands: serve (granian worker processes over the app factory) and migrate."""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from comments_service.config import Settings
from comments_service.logs import LOG_LEVELS
from comments_service.site.signposts import signposts_for
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.verbs import webhook_config

from .archive import add_migrate_target, migrate_target_command


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve",
        help="run the comments service",
        description="Run the comments service with granian. Settings come from COMMENTS_* "
        "environment variables; each worker process builds the app from them. Migrations "
        "run first.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes (default 1: no supervisor, the serving "
                       "process runs the app itself); they share the database, the "
                       "rate limit and cache invalidation")
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    serve.add_argument("--access-log", action="store_true",
                       help="log every request (off by default: access logs hold client IPs)")
    serve.set_defaults(handler=serve_command)

    migrate = subparsers.add_parser(
        "migrate", help="bring the database to the current schema (also done by serve)"
    )
    add_migrate_target(migrate)
    migrate.set_defaults(handler=migrate_command)


def _prepare(settings: Settings, command: str) -> int:
    """Check the secret and migrate, so configuration errors show once, clearly."""
    try:
        settings.secret()
        # Crisis resources and staffed hours: each problem names its field.
        signposts_for(settings)
        webhook_config.endpoints_for(settings)
    except (RuntimeError, ValueError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    database = Database(settings)
    try:
        upgrade(database)
    except SQLAlchemyError as exc:
        print(f"{command}: cannot migrate the database: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "to", None):
        return migrate_target_command(args, settings)
    status = _prepare(settings, "migrate")
    if status == 0:
        print("database is at the current schema")
    return status


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    status = _prepare(settings, "serve")
    if status:
        return status
    # The schema is current now; workers need not load Alembic again (tens of MB each).
    os.environ["COMMENTS_MIGRATE_ON_START"] = "false"
    # Become the supervisor (comments_service/web/serve.py) in place: same PID, so signals
    # and process managers see one service, but without this process's imports (the
    # whole CLI, SQLAlchemy, Alembic), which the supervisor would otherwise keep resident
    # beside the workers for the life of the service.
    argv = [sys.executable, "-m", "comments_service.web.serve", "--host", args.host,
            "--port", str(args.port), "--workers", str(args.workers),
            "--log-level", args.log_level]
    if args.access_log:
        argv.append("--access-log")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter and module, no shell
    return 0  # not reached: execv replaces this process
