"""The full thread without JavaScript: numbered pages, and a reply form for one comment.

The baked article carries the first page of its thread (COMMENTS_PAGE_SIZE top-level
comments, each with all its replies) and links here for the rest:
``GET /comments/{article_id}?order=oldest|newest&page=N``; ``?comment=ID`` instead of
``page`` sends the reader to the page holding that comment, at ``#comment-ID``. Each
comment's "Reply" link opens ``GET /comments/{article_id}/reply/{comment_id}``, the usual
no-JavaScript form with the parent filled in, which posts to ``POST /comments``.
Both read the thread the API serves, from the same per-process cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from comments_service import i18n
from comments_service.i18n import N_, Nn_
from comments_service.site.bake import display_time
from comments_service.store.outages import RETRY_AFTER_SECONDS, is_outage
from comments_service.verbs import comments, thread_pages
from comments_service.verbs.comments import CommentError
from comments_service.web.forms import form_page_csp, render_form_page
from comments_service.web.reader_pages import page_context

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The line under the heading, by how many comments in all (filled in by the template).
POSITION = Nn_("Page {page} of {pages} \u00b7 {count} comment in all",
               "Page {page} of {pages} \u00b7 {count} comments in all")
# Every sentence these pages show; read in the request's language (i18n.Messages).
TEXT = i18n.Messages({
    "title": N_("Comments on {title}, page {page} of {pages}"),
    "heading": N_("Comments on \u201c{title}\u201d"),
    "back": N_("Back to the article"),
    "staff": N_("Staff"),
    "note": N_("Content note: {note}"),
    "reply": N_("Reply"),
    "reply_to": N_("Reply to {author}"),
    "pages": N_("Pages of comments"),
    "previous": N_("\u2190 Newer comments"),
    "next": N_("Older comments \u2192"),
    "previous_oldest": N_("\u2190 Earlier comments"),
    "next_oldest": N_("Later comments \u2192"),
    "replying": N_("Your reply to {author}. Write it below; it will be published once a "
                   "moderator has approved it."),
    "no_article": N_("There is no article with id \u2018{article_id}\u2019."),
    "hidden": N_("Comments are hidden on this article."),
    "bad_order": N_("order must be oldest or newest."),
    "bad_page": N_("page must be a whole number from 1."),
    "no_page": N_("There is no page {page}: this thread has {pages}."),
    "no_comment": N_("That comment is not published on this article."),
    "unavailable": N_("The comments cannot be read just now; please try again in a minute."),
})

router = APIRouter(tags=["public"])

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["display_time"] = lambda value: display_time(value, i18n.current())
i18n.install(_env)  # the request's language: COMMENTS_LANGUAGE (CommentsApp.language)


def _message_page(status_code: int, message: str, headers: dict[str, str] | None = None
                  ) -> HTMLResponse:
    html = _env.from_string(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ m }}</title>'
        "</head><body><main><h1>{{ m }}</h1></main></body></html>").render(m=message)
    return HTMLResponse(html, status_code=status_code,
                        headers={"Content-Security-Policy": form_page_csp(html),
                                 **(headers or {})})


def _public_thread(request: Request, article_id: str) -> tuple[Any, list[dict[str, Any]]]:
    """The article and its public comments, or CommentError-like HTML answers raised."""
    state = request.app.state
    article = state.catalog.get(article_id)
    if article is None:
        raise _Answer(_message_page(404, TEXT["no_article"].format(article_id=article_id)))
    if article.comments == "hidden":
        raise _Answer(_message_page(404, TEXT["hidden"]))
    entry = state.thread_cache.thread(article_id)
    return article, json.loads(entry.body)["comments"]


class _Answer(Exception):
    """A finished answer, raised out of a helper."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


async def _read(request: Request, article_id: str) -> tuple[Any, list[dict[str, Any]]]:
    try:
        return await run_in_threadpool(_public_thread, request, article_id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise _Answer(_message_page(503, TEXT["unavailable"],
                                    {"Retry-After": str(RETRY_AFTER_SECONDS)})) from exc


@router.get("/comments/{article_id}", response_class=HTMLResponse, name="thread_page",
            summary="One page of an article's full thread, for readers without JavaScript")
async def thread_page(article_id: str, request: Request, order: str = "oldest",
                      page: str = "1", comment: str | None = None) -> Response:
    """Top-level comments ``COMMENTS_PAGE_SIZE`` to a page, each with all its replies."""
    if order not in thread_pages.ORDERS:
        return _message_page(422, TEXT["bad_order"])
    try:
        article, public = await _read(request, article_id)
    except _Answer as answer:
        return answer.response
    settings = request.app.state.settings
    size = settings.page_size
    chains = thread_pages.groups(public, order)
    pages = max(1, -(-len(chains) // size))
    base = f"/comments/{quote(article_id)}?order={order}&page="
    if comment is not None:
        try:
            number = thread_pages.page_number_of(public, int(comment), order, size)
        except (KeyError, ValueError):
            return _message_page(404, TEXT["no_comment"])
        return RedirectResponse(f"{base}{number}#comment-{int(comment)}", status_code=303)
    if not (page.isascii() and page.isdigit() and 1 <= int(page) <= 10**9):
        return _message_page(422, TEXT["bad_page"])
    number = int(page)
    if number > pages:
        return _message_page(404, TEXT["no_page"].format(page=number, pages=pages))
    shown = [c for chain in chains[(number - 1) * size:number * size] for c in chain]
    ids = {c["id"] for c in shown}
    roots = [c for c in shown if c["parent_id"] not in ids]
    children: dict[int, list[dict[str, Any]]] = {}
    for c in shown:
        if c["parent_id"] in ids:
            children.setdefault(c["parent_id"], []).append(c)
    text = dict(TEXT)
    text["position"] = i18n.Translator(i18n.current()).ngettext(*POSITION, len(public))
    if order == "oldest":
        text["previous"], text["next"] = TEXT["previous_oldest"], TEXT["next_oldest"]
    html = _env.get_template("thread_page.html").render(
        text=text, article_title=article.title, page=number, pages=pages, count=len(public),
        roots=roots, children=children,
        article_url=urljoin(settings.site_url, article.url_path),
        reply_base=(f"/comments/{quote(article_id)}/reply/"
                    if article.comments == "open" else None),
        page_url=lambda n: f"{base}{n}",
        **page_context(settings),
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": form_page_csp(html)})


@router.get("/comments/{article_id}/reply/{comment_id}", response_class=HTMLResponse,
            name="reply_form_page", summary="The no-JavaScript form, answering one comment")
async def reply_form_page(article_id: str, comment_id: int, request: Request) -> Response:
    """The comment form with parent_id set; it posts to POST /comments like the baked one."""
    state = request.app.state
    try:
        article = comments.require_open_article(state.catalog, article_id, state.settings)
    except CommentError as exc:
        return _message_page(exc.status_code, exc.detail)
    try:
        _, public = await _read(request, article_id)
    except _Answer as answer:
        return answer.response
    parent = next((c for c in public if c["id"] == comment_id), None)
    if parent is None:
        return _message_page(404, TEXT["no_comment"])
    return render_form_page(
        request, 200, article_id=article_id, article_title=article.title,
        return_to=urljoin(state.settings.site_url, article.url_path),
        data={"author": "", "email": "", "body": "", "parent_id": comment_id,
              "notify": False, "accept_terms": False},
        errors={}, detail=TEXT["replying"].format(author=parent["author"]),
        extra={"intro": True, "replying_to": parent},
    )
