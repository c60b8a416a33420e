"""The no-JavaScript comment form endpoint: POST /comments, answered with a redirect or a page.

Success (and a silently dropped honeypot post) answers 303 to the article page:
``<return_to>?comment=pending#comment-pending`` (``?comment=urgent#comment-urgent`` when the
comment was flagged urgent: the crisis alert), which the static page shows with CSS :target.
While comments are paused site-wide, posts answer 403 with the crisis resources. Errors
answer an HTML page that repeats the form with each message next to its field and everything
the reader typed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from comments_service import i18n
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.ids import MAX_ID
from comments_service.store.models import CommentStatus
from comments_service.store.outages import RETRY_AFTER_SECONDS, is_outage
from comments_service.verbs import comments, pause, post_reads, spam
from comments_service.verbs.comments import CommentError
from comments_service.web.api import AUTHOR_PATTERN, BODY_PATTERN, request_client_ip
from comments_service.web.reader_pages import page_context

TEMPLATES = Path(__file__).resolve().parent / "templates"
TRUE_VALUES = {"on", "yes", "true", "1"}

router = APIRouter(tags=["public"])

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
i18n.install(_env)  # the request's language: COMMENTS_LANGUAGE (CommentsApp.language)

FORM_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    # A url-encoded form carries only strings; other names are ignored.
                    "additionalProperties": {"type": "string"},
                    "required": ["article_id", "author", "email", "body", "accept_terms"],
                    "properties": {
                        "article_id": {"type": "string"},
                        "return_to": {"type": "string", "description":
                                      "A page under the site URL; otherwise the article's "
                                      "own page is used."},
                        "author": {"type": "string", "description": "Also accepted as 'name'.",
                                   "minLength": 1, "maxLength": comments.MAX_AUTHOR,
                                   "pattern": AUTHOR_PATTERN},
                        "email": {"type": "string", "format": "email", "minLength": 3,
                                  "maxLength": comments.MAX_EMAIL},
                        "body": {"type": "string", "minLength": 1,
                                 "maxLength": comments.MAX_BODY, "pattern": BODY_PATTERN},
                        "parent_id": {"type": "string", "pattern": "^([1-9][0-9]{0,9})?$",
                                      "description": "Empty or a comment id (at most "
                                                     f"{MAX_ID})."},
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
    """The article URL with ?comment=pending#comment-pending, or for an urgent comment
    ?comment=urgent#comment-urgent: the fragment alone must pick the block, since the
    static page shows it with CSS :target and no script."""
    parts = urlsplit(return_to)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "comment"]
    query.append(("comment", "urgent" if urgent else "pending"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query),
                       "comment-urgent" if urgent else "comment-pending"))


def _form_data(form: Any) -> dict[str, Any]:
    """Form strings converted to the JSON API's types, so one validator serves both."""
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    author = text("author") or text("name")
    parent_text = text("parent_id").strip()
    parent: int | str | None = None
    if parent_text:
        # ASCII digits only ("²".isdigit() is true but int() refuses it), and kept as text
        # when int() refuses its length: the validator then names parent_id.
        parent = parent_text
        if parent_text.isascii() and parent_text.isdigit():
            with contextlib.suppress(ValueError):
                parent = int(parent_text)
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
    paused: bool = False,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The form again, with each error next to its field and the reader's text kept.

    ``extra`` adds template variables: ``intro`` (the box at the top is a neutral notice,
    not an error) and ``replying_to`` (the public comment being answered), as the reply
    form page (thread_pages) uses it."""
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
        crisis=getattr(state, "signposts", None),
        paused=paused,
        mail=bool(state.settings.smtp_host),
        **page_context(state.settings),
        **(extra or {}),
    )
    return HTMLResponse(html, status_code=status_code,
                        headers={"Content-Security-Policy": form_page_csp(html), **(headers or {})})


_STYLE_RE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def form_page_csp(html: str) -> str:
    """The form page's policy: the service's reader.css, its own inline style (by hash, if
    any) and posting here; nothing else."""
    match = _STYLE_RE.search(html)
    return _csp_for_style(match.group(1) if match else "")


@cache
def _csp_for_style(style: str) -> str:
    styles = "style-src 'self'"
    if style:
        digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
        styles += f" 'sha256-{digest}'"
    return (f"default-src 'none'; {styles}; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


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
        503: {"description": "HTML form page with the reader's text: the database is not "
                             "available; Retry-After says when to try again."},
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
        comments.require_open_article(catalog, article_id, settings)
        # The pause first, as before the token check; on PostgreSQL the same round trip
        # reads what screening needs (post_reads), handed to comments.submit below.
        reads = await run_in_threadpool(post_reads.before_post, state.database)
    except CommentError as exc:
        return render_form_page(request, exc.status_code, errors={}, detail=exc.detail,
                                show_form=False, paused=isinstance(exc, pause.CommentsPaused),
                                **page)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return _unavailable_page(request, page)

    # Every post meets the token check, a honeypot one too: a bot must not learn which
    # field is the trap from a token refusal it gets only without it. comments.submit then
    # answers a honeypot post exactly as a real one, and drops it.
    check = spam.check_form_token(
        state.keyring.signing_key, form.get(spam.FORM_TOKEN_FIELD), article_id,
        settings.min_submit_seconds, settings.form_token_max_age_seconds, now=time.time(),
    )
    if not check.ok:
        detail = ("Your comment has not been sent yet. Please check it and press "
                  "\u201cPost comment\u201d again.")
        # The page says why a too-quick send was refused (form_error.html), so a person who
        # simply typed fast knows waiting is all it takes.
        return render_form_page(request, 422, errors={}, detail=detail,
                                extra={"token_problem": check.reason}, **page)

    try:
        result = await run_in_threadpool(
            comments.submit, state.database, settings, state.keyring, catalog, article_id,
            data, request_client_ip(request), reads=reads,
        )
    except CommentError as exc:
        headers = None
        if isinstance(exc, comments.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return render_form_page(request, exc.status_code, errors=exc.errors,
                                detail=exc.detail, headers=headers, **page)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return _unavailable_page(request, page)
    if result.status == CommentStatus.APPROVED.value:
        # A trusted regular's comment, published at once: straight to it on the page.
        return RedirectResponse(f"{return_to.partition('#')[0]}#comment-{result.id}",
                                status_code=303)
    return RedirectResponse(pending_redirect_url(return_to, result.urgent), status_code=303)


def _unavailable_page(request: Request, page: dict[str, Any]) -> HTMLResponse:
    """503: the form again with everything typed, to send once the database is back."""
    return render_form_page(
        request, 503, errors={}, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        detail="Your comment could not be saved just now: our database is not available. "
               "Nothing was lost from this page; please press \u201cPost comment\u201d "
               "again in a minute.", **page)
