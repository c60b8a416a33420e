"""Public JSON routes: read a thread, post a comment, count comments for index pages.

Every error answers {"detail": "<sentence>", "errors": {"<field>": "<message>"}}; the page's
script shows each message next to the form field of the same name. Field names are those of
the request: author, email, body, parent_id, notify, accept_terms; "request" stands for the
body as a whole (not JSON, not an object).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store.ids import MAX_ID, MIN_ID
from comments_service.verbs import comments, json_bytes, post_reads, spam, thread_pages
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


# JSON Schema patterns for the text fields, so generated or hand-written clients know what
# validate_submission refuses: control characters (the comment keeps tab and newlines),
# and text with nothing visible in it (visible_text; the main invisible ranges of the BMP).
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_BODY_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_INVISIBLE = (r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
              r"\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb")
AUTHOR_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}{_INVISIBLE}][^{_CONTROL}]*$"
BODY_PATTERN = rf"^[^{_BODY_CONTROL}]*[^\s{_CONTROL}{_INVISIBLE}][^{_BODY_CONTROL}]*$"


class CommentIn(BaseModel):
    """A reader's comment. Fields not listed here (status, staff, approved...) are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    # The limits below are stated in the schema only; validate_submission enforces them
    # (on trimmed, NFC-normalised text), for the fast path and the route alike.
    author: str = Field(
        description=f"Name shown with the comment; 1-{comments.MAX_AUTHOR} characters "
                    "(Unicode code points), at least one of them visible.",
        json_schema_extra={"minLength": 1, "maxLength": comments.MAX_AUTHOR,
                           "pattern": AUTHOR_PATTERN},
    )
    email: str = Field(
        description="Never shown publicly; stored encrypted. At most "
                    f"{comments.MAX_EMAIL_LOCAL} characters before the @.",
        json_schema_extra={"format": "email", "minLength": 3,
                           "maxLength": comments.MAX_EMAIL},
    )
    body: str = Field(
        description=f"Plain text, 1-{comments.MAX_BODY:,} characters, at least one of them "
                    "visible; blank lines make paragraphs, bare http(s) URLs become links.",
        json_schema_extra={"minLength": 1, "maxLength": comments.MAX_BODY,
                           "pattern": BODY_PATTERN},
    )
    parent_id: Annotated[int, Field(ge=MIN_ID, le=MAX_ID)] | None = Field(
        None, description="An approved comment on the same article."
    )
    notify: bool = Field(False, description="Email me replies (after confirming the address).")
    accept_terms: bool = Field(description="Must be true.", json_schema_extra={"const": True})
    website: str | None = Field(
        None, description="Leave empty. A honeypot: posts that fill it are silently dropped."
    )


class CommentAccepted(BaseModel):
    """A comment stored for moderation."""

    id: int = Field(description="The new comment's id.")
    status: str = Field("pending", description="pending (nothing is public until approved), "
                        "or approved when a trusted regular's comment was published at once.")
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
    content_note: str | None = Field(
        None, description="A staff note such as \"mentions self-harm\" (plain text); the page "
        "folds the comment's text behind it. Null when there is none.")


class ThreadOut(BaseModel):
    article_id: str
    count: int = Field(description="Every approved comment of the article, on every page.")
    comments: list[PublicComment]
    next_cursor: str | None = Field(None, description="Paged answers only: pass as cursor "
                                    "for the next page; null on the last one.")
    order: str | None = Field(None, description="Paged answers only: oldest or newest.")
    limit: int | None = Field(None, description="Paged answers only: top-level comments "
                                                "per page.")


class ApiJSONResponse(JSONResponse):
    """A JSONResponse rendering the API's bytes (json_bytes: <, > and & escaped)."""

    def render(self, content: Any) -> bytes:
        return json_bytes.dumps(content)


def error_response(
    status_code: int, detail: str, errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error shape of the JSON API."""
    return ApiJSONResponse({"detail": detail, "errors": errors or {}},
                           status_code=status_code, headers=headers)


_TYPE_MESSAGES = i18n.Messages({
    "missing": N_("{label} is required."),
    "string_type": N_("{label} must be text."),
    "int_type": N_("{label} must be a whole number."),
    "bool_type": N_("{label} must be true or false."),
})


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """Pydantic's errors turned into our field -> message map (never echoing the input).

    Wrong JSON types get the messages below; a value outside a limit gets the validator's
    own message, the one the fast path answers for the same value.
    """
    t = i18n.Translator(i18n.current())
    errors: dict[str, str] = {}
    unnamed: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        kind = error.get("type", "")
        if loc[:1] == ("body",):
            rest = loc[1:]
            if kind == "json_invalid":
                errors.setdefault("request", t.gettext(N_("The request body is not valid JSON.")))
                continue
            if not rest or not isinstance(rest[0], str):
                errors.setdefault("request",
                                  t.gettext(N_("The request body must be a JSON object.")))
                continue
            name = rest[0]
        else:
            name = str(loc[-1]) if loc else "request"
        label = FIELD_LABELS.get(name, name)
        template = _TYPE_MESSAGES.get(kind)
        if template is None:
            unnamed.setdefault(name, t.gettext(N_("%(label)s is not valid."), label=label))
        else:
            errors.setdefault(name, template.format(label=label))
    if isinstance(exc.body, dict):
        # Report every wrong field at once, not only those with the wrong JSON type.
        try:
            comments.validate_submission(exc.body)
        except comments.InvalidComment as invalid:
            for name, message in invalid.errors.items():
                errors.setdefault(name, message)
    for name, message in unnamed.items():
        errors.setdefault(name, message)
    labels = ", ".join(FIELD_LABELS.get(name, name) for name in errors)
    return error_response(422, t.gettext(N_("Please correct: %(labels)s."), labels=labels),
                          errors)


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
    503: {"model": ErrorOut, "description": "The database is not available (a thread "
                                            "cached in the last COMMENTS_STALE_IF_ERROR_SECONDS "
                                            "is still served); see Retry-After."},
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
async def get_thread(
    article_id: str, request: Request,
    order: Annotated[str | None, Query(description="Paged: oldest (default) or newest "
                                                   "first, by top-level comment.")] = None,
    limit: Annotated[str | None, Query(description="Paged: top-level comments per page, "
                                                   "each with all its replies "
                                                   "(default COMMENTS_PAGE_SIZE).")] = None,
    cursor: Annotated[str | None, Query(description="Paged: a next_cursor from the "
                                                    "previous page.")] = None,
    around: Annotated[str | None, Query(description="Paged: a comment id; answers every "
                                                    "page up to the one holding it.")] = None,
) -> Response:
    """Without paging parameters, the whole thread (the answer's first three keys). With any
    of order, limit, cursor or around, one page of top-level comments with their replies,
    plus next_cursor. Served from a per-process cache validated against the thread's
    version in the database, so a write in any process shows in the next read. Closed
    articles still show their comments; hidden ones answer 403."""
    status, headers, body = thread_reply(request.app.state, article_id,
                                         request.headers.get("if-none-match"),
                                         request.url.query)
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


def _error_bytes(detail: str, errors: dict[str, str] | None = None) -> bytes:
    return json_bytes.dumps({"detail": detail, "errors": errors or {}})


PAGE_PARAMS = ("order", "limit", "cursor", "around")


def thread_reply(
    state: Any, article_id: str, if_none_match: str | None, query: str = ""
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for GET /api/articles/{article_id}/comments[?query]."""
    params = dict(parse_qsl(query)) if query else {}
    request = None
    if any(params.get(name) for name in PAGE_PARAMS):
        try:
            request = thread_pages.parse_request(params, state.settings.page_size)
        except thread_pages.PageRequestError as exc:
            return 422, [("Content-Type", JSON_TYPE)], _error_bytes(
                exc.message, {exc.field: exc.message})
    article = state.catalog.get(article_id)
    if article is None:
        body = _error_bytes(f"There is no article with id '{article_id}'.")
        return 404, [("Content-Type", JSON_TYPE)], body
    if article.comments == "hidden":
        return 403, [("Content-Type", JSON_TYPE)], _error_bytes(
            "Comments are hidden on this article.")
    if request is None:
        entry = state.thread_cache.thread(article_id)
        body, etag = entry.body, entry.etag
    else:
        try:
            # A page on a cache miss reads that page, not the whole thread (issue #14).
            body, etag = state.thread_cache.page(article_id, request)
        except KeyError:
            message = "That comment is not published on this article."
            return 404, [("Content-Type", JSON_TYPE)], _error_bytes(message,
                                                                    {"around": message})
    headers = [("ETag", etag), ("Cache-Control", THREAD_CACHE_CONTROL)]
    if _etag_matches(if_none_match, etag):
        return 304, headers, b""
    return 200, [("Content-Type", JSON_TYPE), *headers], body


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


def _submit_unless_paused(
    state: Any, article_id: str, data: dict[str, Any], client_ip: str
) -> comments.SubmitResult:
    # An unknown or closed article answers as before; only then does the pause (a 403
    # naming it) apply, so a reader is told the real reason.
    comments.require_open_article(state.catalog, article_id, state.settings)
    # On PostgreSQL the blocklist and spam model version come in the same round trip.
    reads = post_reads.before_post(state.database)
    return comments.submit(state.database, state.settings, state.keyring, state.catalog,
                           article_id, data, client_ip, reads=reads)


async def post_reply(
    state: Any, article_id: str, data: dict[str, Any], client_ip: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for POST /api/articles/{article_id}/comments, given the
    fields as CommentIn gives them: the comment is stored (202) or refused."""
    try:
        result = await run_in_threadpool(_submit_unless_paused, state, article_id, data,
                                         client_ip)
    except CommentError as exc:
        headers = [("Content-Type", JSON_TYPE)]
        if isinstance(exc, comments.RateLimited):
            headers.append(("Retry-After", str(exc.retry_after)))
        return exc.status_code, headers, _error_bytes(exc.detail, exc.errors)
    return 202, [("Content-Type", JSON_TYPE)], json_bytes.dumps(
        {"id": result.id, "status": result.status, "message": result.message,
         "crisis_message": result.crisis_message})
