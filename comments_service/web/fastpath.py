"""The ASGI fast path: the two hot GETs and well-formed JSON posts answered before routing.

Everything else (and any request this path is unsure of) goes on to the FastAPI routes in
``api``, which give the field-by-field errors; both share api's reply functions, so the
bytes a reader gets are the same whichever path answered.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from comments_service.verbs import spam
from comments_service.web.api import (
    JSON_CONTENT_TYPES,
    JSON_TYPE,
    counts_reply,
    post_reply,
    thread_reply,
)
from comments_service.web.body_limit import (
    BodyTooLarge,
    Receive,
    Send,
    read_body,
    replay,
    too_large_body,
)

THREAD_PREFIX = "/api/articles/"
THREAD_SUFFIX = "/comments"
SERVER_ERROR_BODY = b"Internal Server Error"

# The JSON types CommentIn accepts (strict), by field; the first tuple entry is the default
# when the field is absent, REQUIRED when it must be there.
REQUIRED = object()
_POST_FIELDS: dict[str, tuple[Any, tuple[type, ...]]] = {
    "author": (REQUIRED, (str,)),
    "email": (REQUIRED, (str,)),
    "body": (REQUIRED, (str,)),
    "parent_id": (None, (int, type(None))),
    "notify": (False, (bool,)),
    "accept_terms": (REQUIRED, (bool,)),
    "website": (None, (str, type(None))),
}


def well_typed_post(body: bytes) -> dict[str, Any] | None:
    """The fields of a JSON post exactly as CommentIn would give them, or None.

    None means anything CommentIn would refuse or treat specially (not JSON, not an
    object, a field missing or of the wrong JSON type): the routed request then answers
    with the full validation errors.
    """
    try:
        raw = json.loads(body)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    data: dict[str, Any] = {}
    for name, (default, types) in _POST_FIELDS.items():
        value = raw.get(name, default)
        if value is REQUIRED:
            return None
        # Strict: true is not a whole number, 1 is not true.
        if type(value) not in types:
            return None
        data[name] = value
    return data


class FastPath:
    """Answers the hot public requests in raw ASGI: reading a thread, counts, posting.

    Every article view reads its thread, so the app (app.CommentsApp) tries this before
    its middleware stack and FastAPI's routing, dependency solving, validation and response
    classes, which are most of a read's cost once the bytes are cached (and about a
    fifth of a post's). The answers are the routes' own: reads call thread_reply /
    counts_reply, posts call post_reply with what CommentIn would have produced. The
    routes stay for OpenAPI and answer anything this does not take, including every post
    CommentIn would refuse, so validation errors have one source. Being outside the
    middleware, it caps the body (body_limit) and adds CORS headers itself, as Starlette's
    CORSMiddleware answers a request that is not a preflight.
    """

    def __init__(self, state: Any, allowed_origins: list[str]) -> None:
        self.state = state
        self.allowed_origins = frozenset(allowed_origins)

    async def handle(self, scope: dict[str, Any], receive: Receive,
                     send: Send) -> Receive | None:
        """Answer the request and return None, or return the receive the app must use."""
        method = scope["method"]
        path: str = scope["path"]
        if method == "POST":
            if (path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX)
                    and _header(scope, b"content-type") in JSON_CONTENT_TYPES):
                article_id = path[len(THREAD_PREFIX):-len(THREAD_SUFFIX)]
                if article_id and "/" not in article_id:
                    return await self._post(scope, receive, send, article_id)
            return receive
        if method != "GET":
            return receive
        if path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX):
            article_id = path[len(THREAD_PREFIX):-len(THREAD_SUFFIX)]
            if not article_id or "/" in article_id:
                return receive
            status, headers, body = thread_reply(self.state, article_id,
                                                 _header(scope, b"if-none-match"))
        elif path == "/api/counts":
            status, headers, body = counts_reply(
                self.state, article_params(scope.get("query_string", b"").decode("latin-1")))
        else:
            return receive
        await self._answer(scope, send, status, headers, body)
        return None

    async def _post(self, scope: dict[str, Any], receive: Receive, send: Send,
                    article_id: str) -> Receive | None:
        state = self.state
        limit = state.settings.max_body_bytes
        try:
            body = await read_body(scope, receive, limit)
        except BodyTooLarge:
            await self._answer(scope, send, 413, [("Content-Type", JSON_TYPE),
                                                  ("Connection", "close")],
                               too_large_body(limit))
            return None
        if body is None:  # the client went away
            return None
        data = well_typed_post(body)
        if data is None:
            return replay(body, receive)
        client = scope.get("client")
        client_ip = spam.client_ip(client[0] if client else None,
                                   _header(scope, b"x-forwarded-for"),
                                   state.settings.trusted_proxies)
        try:
            status, headers, body = await post_reply(state, article_id, data, client_ip)
        except Exception:
            # As Starlette's error middleware answers; the server logs the traceback.
            await self._answer(scope, send, 500, [("Content-Type", "text/plain; charset=utf-8")],
                               SERVER_ERROR_BODY)
            raise
        await self._answer(scope, send, status, headers, body)
        return None

    async def _answer(self, scope: dict[str, Any], send: Send, status: int,
                      headers: list[tuple[str, str]], body: bytes) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if status != 304:
            raw.append((b"content-length", str(len(body)).encode()))
        raw.append((b"vary", b"Origin"))
        origin = _header(scope, b"origin")
        if origin is not None:
            if origin in self.allowed_origins:
                raw.append((b"access-control-allow-origin", origin.encode("latin-1")))
            raw.append((b"access-control-expose-headers", b"ETag, Retry-After"))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def article_params(query: str) -> list[str]:
    """The ``article`` values of a query string, as parse_qsl gives them, in a third of the
    time: ids rarely need unquoting, and every index page view asks for counts."""
    found = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if name == "article":
            found.append(unquote_plus(value) if "%" in value or "+" in value else value)
    return found


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
