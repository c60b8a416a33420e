"""Service commands: serve (uvicorn with the app factory) and migrate."""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings
from ..db import Database
from ..logs import uvicorn_log_config
from ..schema import upgrade

APP_FACTORY = "comments_service.app:app_from_env"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve",
        help="run the comments service",
        description="Run the comments service with uvicorn. Settings come from COMMENTS_* "
        "environment variables; each worker process builds the app from them. Migrations "
        "run first.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes (default 1); they share the database, the "
                       "rate limit and cache invalidation")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true",
                       help="log every request (off by default: access logs hold client IPs)")
    serve.set_defaults(handler=serve_command)

    migrate = subparsers.add_parser(
        "migrate", help="bring the database to the current schema (also done by serve)"
    )
    migrate.set_defaults(handler=migrate_command)


def _prepare(settings: Settings, command: str) -> int:
    """Check the secret and migrate, so configuration errors show once, clearly."""
    try:
        settings.secret()
    except RuntimeError as exc:
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
    status = _prepare(settings, "migrate")
    if status == 0:
        print("database is at the current schema")
    return status


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    status = _prepare(settings, "serve")
    if status:
        return status
    import uvicorn  # only serve needs it; keep the CLI quick to start

    # The schema is current now; workers need not load Alembic again (tens of MB each).
    os.environ["COMMENTS_MIGRATE_ON_START"] = "false"
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=uvicorn_log_config(args.log_level),
        access_log=args.access_log,
        # We read X-Forwarded-For ourselves, only from settings.trusted_proxies; uvicorn's
        # own handling would believe any local client.
        proxy_headers=False,
        server_header=False,
    )
    return 0
