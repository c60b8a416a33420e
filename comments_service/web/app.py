"""The web application: create_app(settings) wires storage, caches and routes together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from comments_service import __version__ as package_version
from comments_service import i18n
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.logs import configure_logging
from comments_service.site import rebake
from comments_service.site.signposts import signposts_for
from comments_service.store.database import Database
from comments_service.verbs import urgency, webhook_config
from comments_service.verbs.feeds import FeedCache
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.thread_cache import ThreadCache
from comments_service.web import errors, openapi_doc, outage
from comments_service.web.api import router as api_router
from comments_service.web.api import validation_error_response
from comments_service.web.background import BackgroundJobs
from comments_service.web.body_limit import BodySizeLimit
from comments_service.web.devsite import mount_site
from comments_service.web.fastpath import FastPath
from comments_service.web.feeds import router as feeds_router
from comments_service.web.forms import router as forms_router
from comments_service.web.health import HealthCheck
from comments_service.web.health import router as health_router
from comments_service.web.idle_memory import IdleTrimmer
from comments_service.web.mail_links import router as mail_links_router
from comments_service.web.reader_pages import router as reader_pages_router
from comments_service.web.reports import router as reports_router
from comments_service.web.security_headers import SecurityHeaders
from comments_service.web.staff import router as staff_router
from comments_service.web.status import router as status_router
from comments_service.web.thread_pages import router as thread_pages_router


class CommentsApp(FastAPI):
    """FastAPI, with the hot public requests answered before the middleware stack."""

    fast_path: FastPath | None = None
    security_headers: SecurityHeaders | None = None
    # COMMENTS_LANGUAGE (or the site's): every page, answer and mail of a request uses it.
    language: str = i18n.DEFAULT_LANGUAGE
    # Every ASGI call so far: the idle watcher (idle_memory.py) sees when it stops moving.
    calls: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        with i18n.using(self.language):
            # Outermost, so the fast path's answers get the security headers too.
            if self.security_headers is not None:
                await self.security_headers(scope, receive, send)
            else:
                await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
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
    # Crisis resources and staffed hours are checked before anything starts; a bad field
    # stops the service with its name (crisis_resources.regions.en[2].phone: ...).
    signposts = signposts_for(settings)
    webhook_config.endpoints_for(settings)  # the same for webhooks: webhooks[1].url: ...
    # The crisis detector compiles its patterns once per process (about a second): here at
    # start, so the first reader to post is not the one who waits, and a bad operator
    # phrase stops the service at once.
    urgency.detector_for(settings)
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
        app.state.idle_trimmer = IdleTrimmer(lambda: app.calls)
        trimmer = asyncio.create_task(app.state.idle_trimmer.run(), name="comments-idle-memory")
        try:
            async with rebake.running(settings, database):
                yield
        finally:
            trimmer.cancel()
            with suppress(asyncio.CancelledError):
                await trimmer
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
    app.language = i18n.resolve(settings.language, settings.site_dir)
    app.state.database = database
    app.state.keyring = Keyring(secret)
    app.state.catalog = Catalog(settings.docs_dir)
    app.state.thread_cache = thread_cache
    app.state.feed_cache = FeedCache(database, thread_cache)
    app.state.signposts = signposts
    app.state.health = HealthCheck(database)
    app.fast_path = FastPath(app.state, cors_origins(settings))
    app.security_headers = SecurityHeaders(app._dispatch, settings)
    outage.install(app)
    errors.install(app)
    openapi_doc.install(app)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    app.include_router(health_router)
    app.include_router(feeds_router)
    app.include_router(reports_router)
    app.include_router(api_router)
    app.include_router(forms_router)
    app.include_router(reader_pages_router)
    app.include_router(thread_pages_router)
    app.include_router(status_router)
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


def app_from_env(settings: Settings | None = None) -> FastAPI:
    """Factory for ASGI servers (granian or uvicorn --factory): settings from COMMENTS_*,
    unless the caller has already read them."""
    configure_logging()
    return create_app(settings if settings is not None else Settings())
