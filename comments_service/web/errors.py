"""The API's error shape for what the routes never see: unknown paths, wrong methods,
unreadable bodies and our own bugs.

Starlette answers these with plain text ("Not Found", "Method Not Allowed", FastAPI's
"There was an error parsing the body" as a 400); here each becomes
``{"detail": "<sentence>", "errors": {...}}`` like every other error. A 405 names in
``Allow`` every method the path takes, from all its routes (Starlette names only the first
route's); a body that cannot be read at all is a 422 for ``request``, as a body that is not
JSON already is.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from comments_service.web.api import error_response

log = logging.getLogger("comments_service.errors")

UNREADABLE_BODY = "The request body could not be read: it is not valid JSON or form data."
UNSTORABLE_VALUE = "A value in the request is outside the range this service can store."
CANDIDATE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
SERVER_ERROR = ("Something went wrong on our side and nothing was saved. Please try again "
                "later.")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (empty when no route has the path).

    Asked of the routes themselves, one method at a time: FastAPI's included routers do
    not list their routes' methods, but each says whether it takes a request.
    """
    allowed = []
    for method in CANDIDATE_METHODS:
        scope = {**request.scope, "method": method}
        for route in request.app.router.routes:
            if isinstance(route, Mount):
                continue  # the dev site at / matches everything
            if route.matches(scope)[0] == Match.FULL:
                allowed.append(method)
                break
    return allowed


async def http_error(request: Request, exc: Exception) -> Response:
    """A Starlette or FastAPI HTTPException, in the API's error shape."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it alone
        raise exc
    status = exc.status_code
    headers = dict(exc.headers or {})
    # A route's own sentence is kept; Starlette's default detail is the bare phrase.
    own = exc.detail if isinstance(exc.detail, str) and exc.detail not in (
        "", HTTPStatus(status).phrase) else None
    if status == 400:
        return error_response(422, "Please correct: Request body.",
                              {"request": UNREADABLE_BODY})
    if status in (404, 405):
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            status = 405
            headers["Allow"] = ", ".join(allowed)
        elif status == 405:
            headers.setdefault("Allow", "GET, HEAD")  # the dev site's static files
    if status == 405:
        detail = f"This address does not take {request.method}; it takes {headers['Allow']}."
    elif own is not None:
        detail = own
    elif status == 404:
        detail = "There is nothing at this address."
    else:
        detail = HTTPStatus(status).phrase
    return error_response(status, detail, {}, headers=headers or None)


async def unstorable_value(request: Request, exc: Exception) -> Response:
    """A value the database refused (SQLSTATE class 22, e.g. an integer past its range).

    The verbs check ids before they reach a query (store.ids); this is the net for any
    input a new route forgets to check: bad input answers 422, never a 500.
    """
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                type(exc).__name__)
    return error_response(422, UNSTORABLE_VALUE, {"request": UNSTORABLE_VALUE})


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug: the same shape, never the traceback (Starlette re-raises it to the log)."""
    return error_response(500, SERVER_ERROR)


def install(app: FastAPI) -> None:
    """Answer HTTP errors and unexpected exceptions in the API's error shape."""
    app.add_exception_handler(HTTPException, http_error)
    # sqlite3 raises OverflowError for an integer past 64 bits; PostgreSQL a DataError.
    app.add_exception_handler(OverflowError, unstorable_value)
    app.add_exception_handler(sa_exc.DataError, unstorable_value)
    app.add_exception_handler(Exception, server_error)
