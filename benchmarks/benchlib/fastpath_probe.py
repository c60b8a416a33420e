"""A measuring probe, not the product: two changes to our app, to size them before making them.

1. The thread read answered in raw ASGI in front of FastAPI, to show how much of a cached
   read's cost is the framework stack (routing, dependency solving, middleware, telemetry)
   rather than the cache. It uses the app's own catalog and ThreadCache, so it serves the
   same bytes, ETag and 404/403 rules; anything it does not handle falls through.
2. SQLite write transactions serialised inside each process by a lock, so a process's
   threads queue on the lock instead of on SQLite's busy handler, which sleeps in steps of
   up to 100 ms. Writers in other processes still meet at BEGIN IMMEDIATE.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from comments_service.store import database
from comments_service.web.app import app_from_env as _full_app

_original_write = database.Database.write
_write_lock = threading.Lock()


@contextmanager
def _serialised_write(self: database.Database) -> Iterator[Any]:
    if not self.is_sqlite:
        with _original_write(self) as session:
            yield session
        return
    with _write_lock, _original_write(self) as session:
        yield session


database.Database.write = _serialised_write  # type: ignore[method-assign]

PREFIX = "/api/articles/"
SUFFIX = "/comments"


class ThreadReadFastPath:
    """GET /api/articles/{id}/comments from the cache without entering FastAPI."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(PREFIX) and path.endswith(SUFFIX):
                article_id = path[len(PREFIX):-len(SUFFIX)]
                article = self.state.catalog.get(article_id) if "/" not in article_id else None
                if article is not None and article.comments != "hidden" and not _has_origin(
                        scope):
                    entry = self.state.thread_cache.thread(article_id)
                    headers = [(b"etag", entry.etag.encode()),
                               (b"cache-control", b"public, max-age=10")]
                    if _if_none_match(scope) == entry.etag:
                        await send({"type": "http.response.start", "status": 304,
                                    "headers": headers})
                        await send({"type": "http.response.body", "body": b""})
                        return
                    headers += [(b"content-type", b"application/json"),
                                (b"content-length", str(len(entry.body)).encode())]
                    await send({"type": "http.response.start", "status": 200,
                                "headers": headers})
                    await send({"type": "http.response.body", "body": entry.body})
                    return
        await self.app(scope, receive, send)


def _has_origin(scope: dict[str, Any]) -> bool:
    # Cross-origin reads need the CORS headers; leave those to the full app.
    return any(name == b"origin" for name, _ in scope["headers"])


def _if_none_match(scope: dict[str, Any]) -> str:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return value.decode("latin-1").strip()
    return ""


def app_from_env() -> Any:
    """The full app from COMMENTS_* variables, wrapped by the fast read path."""
    return ThreadReadFastPath(_full_app())
