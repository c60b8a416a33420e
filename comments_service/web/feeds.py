"""GET the Atom feeds: an article's approved comments, and the whole site's newest.

Answered from verbs/feeds.py's per-process cache, with an ETag (304 on a match) and the
same short public max-age as the thread, so feed readers polling often cost one version
check each.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from comments_service.verbs.feeds import ATOM_TYPE
from comments_service.web.api import THREAD_CACHE_CONTROL, error_response

router = APIRouter(prefix="/api", tags=["public"])
FEED_TYPE = f"{ATOM_TYPE}; charset=utf-8"


def _answer(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": THREAD_CACHE_CONTROL}
    wanted = request.headers.get("if-none-match", "")
    if etag in [tag.strip() for tag in wanted.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=FEED_TYPE, headers=headers)


@router.get("/articles/{article_id}/comments.atom", response_class=Response,
            summary="Atom feed of an article's approved comments",
            responses={200: {"content": {ATOM_TYPE: {}}}, 403: {}, 404: {}})
async def article_feed(article_id: str, request: Request) -> Response:
    """The newest approved comments on one article, staff replies marked; 404 unknown,
    403 hidden."""
    state = request.app.state
    article = state.catalog.get(article_id)
    if article is None:
        return error_response(404, f"There is no article with id '{article_id}'.")
    if article.comments == "hidden":
        return error_response(403, "Comments are hidden on this article.")
    body, etag = await run_in_threadpool(state.feed_cache.article, article)
    return _answer(request, body, etag)


@router.get("/comments.atom", response_class=Response,
            summary="Atom feed of the newest approved comments on the whole site",
            responses={200: {"content": {ATOM_TYPE: {}}}})
async def site_feed(request: Request) -> Response:
    """The newest approved comments across every article that shows its comments."""
    state = request.app.state
    body, etag = await run_in_threadpool(state.feed_cache.site, state.catalog)
    return _answer(request, body, etag)
