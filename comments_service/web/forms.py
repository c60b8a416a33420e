"""The no-JavaScript comment form endpoint: POST /comments, answered with a redirect or a page.

Success (and a silently dropped honeypot post) answers 303 to the article page:
``<return_to>?comment=pending#comment-pending`` (``comment=urgent`` when the comment was
flagged urgent), which the static page shows with CSS :target. Errors answer an HTML page
that repeats the form with each message next to its field and everything the reader typed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.verbs import comments, spam
from comments_service.verbs.comments import CommentError
from comments_service.web.api import request_client_ip

TEMPLATES = Path(__file__).resolve().parent / "templates"
TRUE_VALUES = {"on", "yes", "true", "1"}

router = APIRouter(tags=["public"])

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

FORM_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["article_id", "author", "email", "body", "accept_terms"],
                    "properties": {
                        "article_id": {"type": "string"},
                        "return_to": {"type": "string", "description":
                                      "A page under the site URL; otherwise the article's "
                                      "own page is used."},
                        "author": {"type": "string", "description": "Also accepted as 'name'."},
                        "email": {"type": "string"},
                        "body": {"type": "string"},
                        "parent_id": {"type": "string", "description": "Empty or a comment id."},
                        "notify": {"type": "string", "description": "on/yes/true/1 when ticked."},
                        "accept_terms": {"type": "string",
                                         "description": "on/yes/true/1 when ticked."},
                        "website": {"type": "string", "description": "Honeypot; leave empty."},
                        "form_token": {"type": "string", "description":
                                       "Signed render time (spam.form_token). Missing, too new "
                                       "or expired: the form comes back to be sent again."},
                    },
                }
            }
        },
    }
}


def safe_return_to(value: str, site_url: str, fallback: str) -> str:
    """value if it is a page of the configured site, else fallback: never an open redirect."""
    if not value or any(ch in value for ch in "\\\r\n\t") or value.startswith("//"):
        return fallback
    site = urlsplit(site_url)
    absolute = urljoin(site_url, value) if value.startswith("/") else value
    target = urlsplit(absolute)
    site_path = site.path if site.path.endswith("/") else site.path + "/"
    if (
        target.scheme != site.scheme
        or target.netloc.lower() != site.netloc.lower()
        or not (target.path + "/").startswith(site_path)
        or ".." in target.path.split("/")
    ):
        return fallback
    return absolute


def pending_redirect_url(return_to: str, urgent: bool) -> str:
    """The article URL with ?comment=pending|urgent and #comment-pending."""
    parts = urlsplit(return_to)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "comment"]
    query.append(("comment", "urgent" if urgent else "pending"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query),
                       "comment-pending"))


def _form_data(form: Any) -> dict[str, Any]:
    """Form strings converted to the JSON API's types, so one validator serves both."""
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    author = text("author") or text("name")
    parent_text = text("parent_id").strip()
    parent: int | str | None = None
    if parent_text:
        parent = int(parent_text) if parent_text.isdigit() else parent_text
    return {
        "author": author,
        "email": text("email"),
        "body": text("body"),
        "parent_id": parent,
        "notify": text("notify").strip().lower() in TRUE_VALUES,
        "accept_terms": text("accept_terms").strip().lower() in TRUE_VALUES,
        "website": text("website"),
    }


def render_form_page(
    request: Request,
    status_code: int,
    *,
    article_id: str,
    article_title: str,
    return_to: str,
    data: dict[str, Any],
    errors: dict[str, str],
    detail: str,
    show_form: bool = True,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form again, with each error next to its field and the reader's text kept."""
    state = request.app.state
    token = spam.form_token(state.keyring.signing_key, article_id) if show_form else ""
    html = _env.get_template("form_error.html").render(
        detail=detail,
        errors=errors,
        data=data,
        article_id=article_id,
        article_title=article_title,
        return_to=return_to,
        form_token=token,
        field_token=spam.FORM_TOKEN_FIELD,
        show_form=show_form,
        max_author=comments.MAX_AUTHOR,
        max_body=comments.MAX_BODY,
        action=str(request.url_for("post_comment_form")),
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


@router.post(
    "/comments",
    name="post_comment_form",
    summary="Post a comment from the no-JavaScript form",
    status_code=303,
    response_class=Response,
    openapi_extra=FORM_OPENAPI,
    responses={
        303: {"description": "Stored for moderation (or dropped as spam): back to the article "
                             "at <return_to>?comment=pending#comment-pending."},
        403: {"description": "HTML page: comments are not open on this article."},
        404: {"description": "HTML page: no such article."},
        409: {"description": "HTML form page: the same comment is already there."},
        413: {"description": "Request body larger than max_body_bytes."},
        422: {"description": "HTML form page with a message next to each wrong field."},
        429: {"description": "HTML form page; Retry-After says when to try again."},
    },
)
async def post_comment_form(request: Request) -> Response:
    """Same rules as the JSON API, plus a minimum time between render and submit."""
    state = request.app.state
    settings: Settings = state.settings
    catalog: Catalog = state.catalog
    form = await request.form()
    article_id = form.get("article_id")
    article_id = article_id if isinstance(article_id, str) else ""
    data = _form_data(form)
    article = catalog.get(article_id)
    raw_return = form.get("return_to")
    raw_return = raw_return if isinstance(raw_return, str) else ""
    fallback = urljoin(settings.site_url, article.url_path) if article else settings.site_url
    return_to = safe_return_to(raw_return.strip(), settings.site_url, fallback)
    page = {
        "article_id": article_id,
        "article_title": article.title if article else "",
        "return_to": return_to,
        "data": data,
    }

    try:
        comments.require_open_article(catalog, article_id)
    except CommentError as exc:
        return render_form_page(request, exc.status_code, errors={}, detail=exc.detail,
                                show_form=False, **page)

    if spam.honeypot_tripped(data.get(spam.HONEYPOT_FIELD)):
        # Accept and drop, as the JSON API does, so a bot learns nothing.
        await run_in_threadpool(
            comments.submit, state.database, settings, state.keyring, catalog, article_id,
            data, request_client_ip(request),
        )
        return RedirectResponse(pending_redirect_url(return_to, False), status_code=303)

    check = spam.check_form_token(
        state.keyring.signing_key, form.get(spam.FORM_TOKEN_FIELD), article_id,
        settings.min_submit_seconds, settings.form_token_max_age_seconds, now=time.time(),
    )
    if not check.ok:
        detail = ("Your comment has not been sent yet. Please check it and press "
                  "\u201cPost comment\u201d again.")
        return render_form_page(request, 422, errors={}, detail=detail, **page)

    try:
        result = await run_in_threadpool(
            comments.submit, state.database, settings, state.keyring, catalog, article_id,
            data, request_client_ip(request),
        )
    except CommentError as exc:
        headers = None
        if isinstance(exc, comments.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return render_form_page(request, exc.status_code, errors=exc.errors,
                                detail=exc.detail, headers=headers, **page)
    return RedirectResponse(pending_redirect_url(return_to, result.urgent), status_code=303)
