"""Public JSON routes: read a thread, post a comment, count comments for index pages.

Every error answers {"detail": "<sentence>", "errors": {"<field>": "<message>"}}; the page's
script shows each message next to the form field of the same name. Field names are those of
the request: author, email, body, parent_id, notify, accept_terms; "request" stands for the
body as a whole (not JSON, not an object).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from comments_service.verbs import comments, spam
from comments_service.verbs.comments import FIELD_LABELS, CommentError

THREAD_CACHE_CONTROL = "public, max-age=10"
MAX_COUNT_ARTICLES = 100

router = APIRouter(prefix="/api", tags=["public"])


class ErrorOut(BaseModel):
    """The body of every error: a sentence, and a message per offending field."""

    detail: str
    errors: dict[str, str] = Field(
        default_factory=dict,
        description="Field name -> message, e.g. {\"email\": \"Email is required.\"}.",
    )


class CommentIn(BaseModel):
    """A reader's comment. Fields not listed here (status, staff, approved...) are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    author: str = Field(description="Name shown with the comment; 1-80 characters.")
    email: str = Field(description="Never shown publicly; stored encrypted.")
    body: str = Field(description="Plain text, 1-5,000 characters; blank lines make "
                                  "paragraphs, bare http(s) URLs become links.")
    parent_id: int | None = Field(None, description="An approved comment on the same article.")
    notify: bool = Field(False, description="Email me replies (after confirming the address).")
    accept_terms: bool = Field(description="Must be true.")
    website: str | None = Field(
        None, description="Leave empty. A honeypot: posts that fill it are silently dropped."
    )


class CommentAccepted(BaseModel):
    """A comment stored for moderation."""

    id: int | None = Field(description="The new comment's id (null when it was dropped).")
    status: str = Field("pending", description="Always pending: nothing is public until "
                                               "approved.")
    message: str = Field(description="What to tell the reader; starts with the crisis "
                                     "message when the comment was flagged urgent.")
    crisis_message: str | None = Field(
        None, description="Where to get help now, when the comment mentions a crisis."
    )


class PublicComment(BaseModel):
    id: int
    parent_id: int | None
    author: str
    body_html: str = Field(description="Safe HTML, rendered when the comment was written.")
    created_at: str = Field(description="RFC 3339 in UTC, e.g. 2026-11-26T09:00:00Z.")
    staff: bool
    signature: str | None = Field(description="Staff signature as plain text; null for "
                                              "readers.")


class ThreadOut(BaseModel):
    article_id: str
    count: int
    comments: list[PublicComment]


def error_response(
    status_code: int, detail: str, errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error shape of the JSON API."""
    return JSONResponse({"detail": detail, "errors": errors or {}}, status_code=status_code,
                        headers=headers)


_TYPE_MESSAGES = {
    "missing": "{label} is required.",
    "string_type": "{label} must be text.",
    "int_type": "{label} must be a whole number.",
    "bool_type": "{label} must be true or false.",
}


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """Pydantic's errors turned into our field -> message map (never echoing the input)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        kind = error.get("type", "")
        if loc[:1] == ("body",):
            rest = loc[1:]
            if kind == "json_invalid":
                errors.setdefault("request", "The request body is not valid JSON.")
                continue
            if not rest or not isinstance(rest[0], str):
                errors.setdefault("request", "The request body must be a JSON object.")
                continue
            name = rest[0]
        else:
            name = str(loc[-1]) if loc else "request"
        label = FIELD_LABELS.get(name, name)
        template = _TYPE_MESSAGES.get(kind, "{label} is not valid.")
        errors.setdefault(name, template.format(label=label))
    if isinstance(exc.body, dict):
        # Report every wrong field at once, not only those with the wrong JSON type.
        try:
            comments.validate_submission(exc.body)
        except comments.InvalidComment as invalid:
            for name, message in invalid.errors.items():
                errors.setdefault(name, message)
    labels = ", ".join(FIELD_LABELS.get(name, name) for name in errors)
    return error_response(422, f"Please correct: {labels}.", errors)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def request_client_ip(request: Request) -> str:
    """The client address, believing X-Forwarded-For only from settings.trusted_proxies."""
    peer = request.client.host if request.client else None
    return spam.client_ip(peer, request.headers.get("x-forwarded-for"),
                          request.app.state.settings.trusted_proxies)


_ERRORS = {
    403: {"model": ErrorOut, "description": "Comments are hidden (GET) or not open (POST)."},
    404: {"model": ErrorOut, "description": "No article with this id."},
}


@router.get(
    "/articles/{article_id}/comments",
    response_model=ThreadOut,
    summary="The approved comments of an article, oldest first",
    responses={
        200: {"headers": {
            "ETag": {"description": "Changes whenever the public thread does.",
                     "schema": {"type": "string"}},
            "Cache-Control": {"description": THREAD_CACHE_CONTROL,
                              "schema": {"type": "string"}},
        }},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        **_ERRORS,
    },
)
async def get_thread(article_id: str, request: Request) -> Response:
    """Served from a per-process cache validated against the thread's version in the
    database, so a write in any process shows in the next read. Closed articles still show
    their comments; hidden ones answer 403."""
    status, headers, body = thread_reply(request.app.state, article_id,
                                         request.headers.get("if-none-match"))
    return Response(body, status_code=status, headers=dict(headers))


@router.post(
    "/articles/{article_id}/comments",
    status_code=202,
    response_model=CommentAccepted,
    summary="Post a comment; it is held for moderation",
    responses={
        409: {"model": ErrorOut, "description": "The same comment is already on the article."},
        413: {"model": ErrorOut, "description": "Request body larger than max_body_bytes."},
        422: {"model": ErrorOut, "description": "A field is missing or wrong; errors names "
                                                "each field."},
        429: {"model": ErrorOut, "description": "Too many comments from this address; see "
                                                "Retry-After."},
        **_ERRORS,
    },
)
async def post_comment(article_id: str, payload: CommentIn, request: Request) -> Response:
    """Stores the comment as pending and answers 202; it shows once a moderator approves it."""
    status, headers, body = await post_reply(request.app.state, article_id,
                                             payload.model_dump(), request_client_ip(request))
    return Response(body, status_code=status, headers=dict(headers))


@router.get(
    "/counts",
    summary="Approved comment counts for index pages",
    response_model=dict[str, int],
    responses={422: {"model": ErrorOut, "description": "More than 100 articles asked for."}},
)
async def get_counts(
    request: Request,
    article: Annotated[list[str], Query(description="An article id; repeat for several.")] = [],  # noqa: B006
) -> Response:
    """{"<article id>": n, ...}. Ids of unknown articles, and of articles whose comments are
    hidden, are left out."""
    status, headers, body = counts_reply(request.app.state, article)
    return Response(body, status_code=status, headers=dict(headers))


# The read path, shared by the routes above and the ASGI fast path below -------------------

JSON_TYPE = "application/json"
JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8",
                                "application/json;charset=utf-8",
                                "application/json; charset=UTF-8"})


def _json_bytes(content: Any) -> bytes:
    """JSON rendered as Starlette's JSONResponse renders it (the error answers use that)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def _error_bytes(detail: str, errors: dict[str, str] | None = None) -> bytes:
    return _json_bytes({"detail": detail, "errors": errors or {}})


def thread_reply(
    state: Any, article_id: str, if_none_match: str | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for GET /api/articles/{article_id}/comments."""
    article = state.catalog.get(article_id)
    if article is None:
        body = _error_bytes(f"There is no article with id '{article_id}'.")
        return 404, [("Content-Type", JSON_TYPE)], body
    if article.comments == "hidden":
        return 403, [("Content-Type", JSON_TYPE)], _error_bytes(
            "Comments are hidden on this article.")
    entry = state.thread_cache.thread(article_id)
    headers = [("ETag", entry.etag), ("Cache-Control", THREAD_CACHE_CONTROL)]
    if _etag_matches(if_none_match, entry.etag):
        return 304, headers, b""
    return 200, [("Content-Type", JSON_TYPE), *headers], entry.body


def counts_reply(state: Any, article_ids: list[str]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for GET /api/counts."""
    if len(article_ids) > MAX_COUNT_ARTICLES:
        body = _error_bytes(f"Ask for at most {MAX_COUNT_ARTICLES} articles at once.",
                            {"article": f"At most {MAX_COUNT_ARTICLES} article ids."})
        return 422, [("Content-Type", JSON_TYPE)], body
    known = []
    for article_id in article_ids:
        found = state.catalog.get(article_id)
        if found is not None and found.comments != "hidden":
            known.append(article_id)
    body = state.thread_cache.counts_body(known)
    return 200, [("Content-Type", JSON_TYPE), ("Cache-Control", THREAD_CACHE_CONTROL)], body


async def post_reply(
    state: Any, article_id: str, data: dict[str, Any], client_ip: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for POST /api/articles/{article_id}/comments, given the
    fields as CommentIn gives them: the comment is stored (202) or refused."""
    try:
        result = await run_in_threadpool(
            comments.submit, state.database, state.settings, state.keyring, state.catalog,
            article_id, data, client_ip,
        )
    except CommentError as exc:
        headers = [("Content-Type", JSON_TYPE)]
        if isinstance(exc, comments.RateLimited):
            headers.append(("Retry-After", str(exc.retry_after)))
        return exc.status_code, headers, _error_bytes(exc.detail, exc.errors)
    return 202, [("Content-Type", JSON_TYPE)], _json_bytes(
        {"id": result.id, "status": result.status, "message": result.message,
         "crisis_message": result.crisis_message})
