"""The ASGI fast path: the two hot GETs and well-formed JSON posts answered before routing.

Everything else (and any request this path is unsure of) goes on to the FastAPI routes in
``api``, which give the field-by-field errors; both share api's reply functions, so the
bytes a reader gets are the same whichever path answered.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_plus

from comments_service.store.outages import is_outage
from comments_service.verbs import json_bytes, spam
from comments_service.web import outage
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
from comments_service.web.errors import SERVER_ERROR

THREAD_PREFIX = "/api/articles/"
THREAD_SUFFIX = "/comments"
# As errors.server_error answers for the routes.
SERVER_ERROR_BODY = json_bytes.dumps({"detail": SERVER_ERROR, "errors": {}})

log = logging.getLogger("comments_service.outage")

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
        raw = json.loads(body, parse_int=_bounded_int)
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


# More digits than any id has: such a number is out of every range, whatever its value.
_MAX_INT_DIGITS = 20
_OUT_OF_RANGE = 10**_MAX_INT_DIGITS


def _bounded_int(text: str) -> int:
    """A JSON integer, with any beyond 20 digits read as one out-of-range value.

    Python refuses to convert more than 4,300 digits (ValueError), which would send the
    post to the route and answer "not valid JSON"; read this way, a parent_id of any
    length gets parent_id's own error, and no time goes into converting huge numbers.
    """
    digits = text.lstrip("-")
    if len(digits) <= _MAX_INT_DIGITS:
        return int(text)
    return -_OUT_OF_RANGE if text.startswith("-") else _OUT_OF_RANGE


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
        try:
            if path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX):
                article_id = path[len(THREAD_PREFIX):-len(THREAD_SUFFIX)]
                if not article_id or "/" in article_id:
                    return receive
                status, headers, body = thread_reply(
                    self.state, article_id, _header(scope, b"if-none-match"),
                    scope.get("query_string", b"").decode("latin-1"))
            elif path == "/api/counts":
                status, headers, body = counts_reply(
                    self.state, article_params(scope.get("query_string", b"").decode("latin-1")))
            else:
                return receive
        except Exception as exc:
            if not is_outage(exc):
                raise
            # Answered here: the routed path would only meet the same outage again.
            status, headers, body = self._outage(method, path, exc)
        await self._answer(scope, send, status, headers, body)
        return None

    @staticmethod
    def _outage(method: str, path: str,
                exc: BaseException) -> tuple[int, list[tuple[str, str]], bytes]:
        log.warning("database unavailable on %s %s: %s: %s", method, path,
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return 503, outage.json_headers(), outage.json_body()

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
        except Exception as exc:
            if is_outage(exc):
                status, headers, body = self._outage("POST", scope["path"], exc)
                await self._answer(scope, send, status, headers, body)
                return None
            # As Starlette's error middleware answers; the server logs the traceback.
            await self._answer(scope, send, 500, [("Content-Type", JSON_TYPE)],
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
