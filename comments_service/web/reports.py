"""Reader reports: the JSON route for the page's script and the small no-JavaScript page.

``GET /comments/{id}/report`` shows the comment and the form, ``POST`` to the same address
stores the report (verbs/reports.py) and answers a thank-you page, or the form again with
each error beside its field. ``POST /api/comments/{id}/reports`` takes the same fields as
JSON and answers 202 in the API's error shape otherwise.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from comments_service import i18n
from comments_service.store.ids import storable_id
from comments_service.verbs import public_threads, reports
from comments_service.verbs.comments import CommentError, RateLimited
from comments_service.verbs.notifications import Notifier
from comments_service.web.api import ApiJSONResponse, error_response, request_client_ip
from comments_service.web.forms import TEMPLATES, form_page_csp, safe_return_to
from comments_service.web.reader_pages import page_context

router = APIRouter(tags=["public"])
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
i18n.install(_env)  # the request's language: COMMENTS_LANGUAGE (CommentsApp.language)
FIELDS = ("reason", "note", "name", "email")


def _notifier(request: Request) -> Notifier:
    state = request.app.state
    return Notifier(state.settings, state.keyring, state.catalog)


def _published(request: Request, comment_id: int) -> tuple[dict[str, Any], Any] | None:
    """The public shape of a published comment and its article, or None."""
    state = request.app.state
    with state.database.read() as session:
        comment = public_threads.get(session, comment_id) if storable_id(comment_id) else None
        if comment is None or comment.status.value != "approved":
            return None
        article = state.catalog.get(comment.article_id)
        if article is None or article.comments == "hidden":
            return None
        shown = next((c for c in public_threads.list_public(session, comment.article_id)
                      if c["id"] == comment_id), None)
    return (shown, article) if shown is not None else None


def _page(request: Request, comment_id: int, status_code: int, *, data: dict[str, str],
          errors: dict[str, str], detail: str = "", done: bool = False,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    found = _published(request, comment_id)
    comment, article = found if found else (None, None)
    fallback = urljoin(settings.site_url, article.url_path) if article else settings.site_url
    back = safe_return_to(data.get("return_to", ""), settings.site_url,
                          f"{fallback}#comment-{comment_id}" if article else fallback)
    html = _env.get_template("report_form.html").render(
        comment=None if done else comment, article_title=article.title if article else "",
        reasons=reports.REASONS, data=data, errors=errors, detail=detail, done=done,
        show_form=comment is not None and not done, return_to=back, max_note=reports.MAX_NOTE,
        action=str(request.url_for("post_report_form", comment_id=comment_id)),
        **page_context(settings))
    return HTMLResponse(html, status_code=status_code,
                        headers={"Content-Security-Policy": form_page_csp(html),
                                 "Cache-Control": "no-store", **(headers or {})})


@router.get("/comments/{comment_id}/report", response_class=HTMLResponse,
            summary="The no-JavaScript page to report a published comment")
def report_form(comment_id: int, request: Request, return_to: str = "") -> Response:
    """The comment and a form with the reasons; 404 for a comment that is not published."""
    if _published(request, comment_id) is None:
        return _page(request, comment_id, 404, data={}, errors={},
                     detail=f"There is no published comment #{comment_id}.")
    return _page(request, comment_id, 200, data={"return_to": return_to}, errors={})


@router.post("/comments/{comment_id}/report", response_class=HTMLResponse,
             summary="Report a published comment from the no-JavaScript page")
async def post_report_form(comment_id: int, request: Request) -> Response:
    """Stores the report and thanks the reader, or shows the form with its errors."""
    form = await request.form()
    data = {name: value for name in (*FIELDS, "return_to")
            if isinstance(value := form.get(name, ""), str)}
    state = request.app.state
    try:
        await run_in_threadpool(reports.submit_report, state.database, state.keyring,
                                _notifier(request), comment_id, data, request_client_ip(request))
    except CommentError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return _page(request, comment_id, exc.status_code, data=data, errors=exc.errors,
                     detail=exc.detail, headers=headers)
    return _page(request, comment_id, 200, data=data, errors={}, detail=reports.THANKS,
                 done=True)


@router.post("/api/comments/{comment_id}/reports", status_code=202,
             summary="Report a published comment",
             responses={404: {}, 422: {}, 429: {}})
async def post_report(comment_id: int, request: Request) -> JSONResponse:
    """JSON ``{"reason", "note", "name", "email"}`` (only reason required) -> 202
    ``{"id", "message"}``."""
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return error_response(422, "The request body must be a JSON object.",
                              {"request": "Send a JSON object."})
    state = request.app.state
    try:
        result = await run_in_threadpool(
            reports.submit_report, state.database, state.keyring, _notifier(request),
            comment_id, {k: data.get(k) for k in FIELDS}, request_client_ip(request))
    except CommentError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.status_code, exc.detail, exc.errors, headers)
    return ApiJSONResponse({"id": result.id, "message": result.message}, status_code=202)
