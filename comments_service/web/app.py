"""The web application: create_app(settings) wires storage, caches and routes together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text

from comments_service import __version__ as package_version
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.logs import configure_logging
from comments_service.site import rebake
from comments_service.store.database import Database
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.thread_cache import ThreadCache
from comments_service.web.api import router as api_router
from comments_service.web.api import validation_error_response
from comments_service.web.background import BackgroundJobs
from comments_service.web.body_limit import BodySizeLimit
from comments_service.web.devsite import mount_site
from comments_service.web.fastpath import FastPath
from comments_service.web.forms import router as forms_router
from comments_service.web.mail_links import router as mail_links_router
from comments_service.web.staff import router as staff_router


class CommentsApp(FastAPI):
    """FastAPI, with the hot public requests answered before the middleware stack."""

    fast_path: FastPath | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.fast_path is not None and scope["type"] == "http":
            started = False

            async def tracked_send(message: dict[str, Any]) -> None:
                nonlocal started
                started = True
                await send(message)

            try:
                handled = await self.fast_path.handle(scope, receive, tracked_send)
            except Exception:
                # Let the full stack answer (and report) whatever went wrong, unless a
                # response already began. (A post's body is never read twice: the fast
                # path answers every failure after reading it itself.)
                if started:
                    raise
            else:
                if handled is None:
                    return
                receive = handled
        await super().__call__(scope, receive, send)


def cors_origins(settings: Settings) -> list[str]:
    """The site's own origin plus any configured extra origins."""
    site = urlsplit(settings.site_url)
    origins = [f"{site.scheme}://{site.netloc}"]
    for origin in settings.allowed_origins:
        origin = origin.rstrip("/")
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def create_app(settings: Settings) -> FastAPI:
    """The service for these settings: migrates the database, then serves.

    Raises RuntimeError in production mode without COMMENTS_SECRET_KEY.
    """
    secret = settings.secret()
    database = Database(settings)
    if settings.migrate_on_start:
        from comments_service.store.migrate import (
            upgrade,  # Alembic is heavy; workers started by serve skip it
        )

        upgrade(database)
    thread_cache = ThreadCache(database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The re-baker keeps baked pages in step with moderation (see rebake.py).
        # The mail worker and purges (see background.py) run beside the re-baker.
        jobs = BackgroundJobs(database, app.state.keyring, app.state.catalog)
        jobs.start()
        app.state.catalog.watch()
        try:
            async with rebake.running(settings, database):
                yield
        finally:
            app.state.catalog.stop()
            await jobs.stop()
        thread_cache.close()
        database.dispose()

    app = CommentsApp(
        title="Comments service",
        version=package_version,
        description="Moderated comments for the article library. Comments are held for "
        "moderation (202) and shown once approved. Errors answer "
        '{"detail": "...", "errors": {"<field>": "<message>"}}.',
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.keyring = Keyring(secret)
    app.state.catalog = Catalog(settings.docs_dir)
    app.state.thread_cache = thread_cache
    app.fast_path = FastPath(app.state, cors_origins(settings))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.get("/healthz", tags=["operations"], summary="Liveness and database check",
             responses={503: {"description": "The database does not answer."}})
    def healthz() -> JSONResponse:
        """{"status": "ok"} when the comments table can be read."""
        try:
            with database.read() as session:
                # A table, not SELECT 1: that never reads the file, so a pooled SQLite
                # connection answers it even when the database file is damaged.
                session.execute(text("SELECT 1 FROM comments LIMIT 1"))
        except Exception as exc:  # any failure at all means unhealthy
            return JSONResponse({"status": "error", "detail": type(exc).__name__},
                                status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(api_router)
    app.include_router(forms_router)
    app.include_router(staff_router)
    app.include_router(mail_links_router)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins(settings),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Retry-After"],
        max_age=600,
    )
    # Last: the site mount at / would shadow any route included after it.
    mount_site(app, settings)
    return app


def app_from_env() -> FastAPI:
    """Factory for ASGI servers (granian or uvicorn --factory): settings from COMMENTS_*."""
    configure_logging()
    return create_app(Settings())
