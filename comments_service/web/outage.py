"""Answers for a database outage: 503 with Retry-After, as JSON or as an HTML page.

The JSON API keeps its one error shape ``{"detail", "errors"}``; the no-JavaScript form,
the mail link pages and the staff pages answer a page a person can read. Either way the
status is 503 and ``Retry-After`` says when to come back, so browsers, proxies and
monitors treat it as temporary, never as the "Internal Server Error" of a bug.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from comments_service.store.outages import (
    OUTAGE_ERRORS,
    RETRY_AFTER_SECONDS,
    is_outage,
)
from comments_service.verbs import json_bytes
from comments_service.web.staff import SECURITY_HEADERS, templates

log = logging.getLogger("comments_service.outage")

DETAIL = ("The comments database is not available right now. Nothing was saved; "
          "please try again in a minute.")
JSON_TYPE = "application/json"
# Paths answered with an HTML page rather than JSON.
HTML_PREFIXES = ("/staff", "/mail/", "/comments")


def json_body() -> bytes:
    """The 503 body of the JSON API, in its usual error shape."""
    return json_bytes.dumps({"detail": DETAIL, "errors": {}})


def json_headers() -> list[tuple[str, str]]:
    """Headers of a 503 JSON answer (the fast path adds the rest)."""
    return [("Content-Type", JSON_TYPE), ("Retry-After", str(RETRY_AFTER_SECONDS)),
            ("Cache-Control", "no-store")]


def html_page(request: Request, reason: str = DETAIL) -> HTMLResponse:
    """The 503 page for people: staff pages, mail links and the no-JavaScript form."""
    staff = request.url.path.startswith("/staff")
    response = templates.TemplateResponse(request, "staff/unavailable.html", {
        "title": "Temporarily unavailable", "reason": reason, "me": None, "csrf_token": "",
        "is_admin": False, "public": not staff, "notice": "", "error": "",
    }, status_code=503)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def answer(request: Request, error: BaseException) -> Response:
    """The 503 for a request that met a database outage."""
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path,
                type(error).__name__, str(error).splitlines()[0] if str(error) else "")
    if request.url.path.startswith(HTML_PREFIXES):
        return html_page(request)
    return Response(json_body(), status_code=503, headers=dict(json_headers()))


def install(app: FastAPI) -> None:
    """Answer every outage raised by a route with a 503 (other errors stay 500s)."""

    async def handler(request: Request, error: Exception) -> Response:
        if not is_outage(error):  # pragma: no cover - only outage classes are registered
            raise error
        return answer(request, error)

    for error_class in OUTAGE_ERRORS:
        app.add_exception_handler(error_class, handler)
