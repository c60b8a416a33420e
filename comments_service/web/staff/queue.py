"""The moderation queue, one comment's page, editing and replying as staff."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service.store.models import CommentStatus
from comments_service.verbs import accounts
from comments_service.verbs.moderation import (
    ACTIONS,
    Actor,
    ModerationError,
    NotFound,
    QueueFilter,
)
from comments_service.web.staff.common import (
    ACTION_LABELS,
    STATUS_CHOICES,
    catalog_of,
    checked_post,
    current_staff,
    forbidden_page,
    form_text,
    int_param,
    moderation_of,
    not_found_page,
    notice_of,
    redirect_to,
    render_page,
    router,
    safe_back,
    settings_of,
    sign_in_redirect,
    with_notice,
)


@router.get("/", response_class=HTMLResponse)
def queue(request: Request, status: str = "pending", article: str = "", q: str = "",
          page: str = "1") -> Response:
    """The moderation queue with filters; pending comments come urgent first, then oldest."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    moderation = moderation_of(request)
    wanted = QueueFilter(status=status, article_id=article.strip(), query=q[:200],
                         page=int_param(page, 1))
    error = ""
    try:
        result = moderation.queue(wanted)
    except ModerationError as exc:
        error = str(exc)
        wanted = QueueFilter()
        result = moderation.queue(wanted)
    here = "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                   "q": wanted.query, "page": wanted.page})
    catalog = catalog_of(request)
    article_choices = [(aid, (catalog.get(aid).title if catalog.get(aid) else aid))
                       for aid in sorted(set(moderation.article_ids())
                                         | {a.id for a in catalog.all()})]

    def page_link(number: int) -> str:
        return "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                       "q": wanted.query, "page": number})

    return render_page(request, "staff/queue.html", {
        "title": "Moderation queue", "result": result, "filter": wanted, "here": here,
        "statuses": STATUS_CHOICES, "articles": article_choices, "error": error,
        "counts": moderation.counts(), "actions": ACTION_LABELS, "notice": notice_of(request),
        "page_link": page_link, "site_url": settings_of(request).site_url.rstrip("/"),
    }, signed_in=signed_in)


@router.post("/actions")
async def actions(request: Request) -> Response:
    """Approve, reject, mark as spam or delete one comment ("approve:12") or a selection."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    back = safe_back(form_text(form, "back"))
    action, _, single = form_text(form, "action").partition(":")
    if single:
        ids = [int_param(single, -1)]
    else:
        ids = [int_param(v, -1) for v in form.getlist("ids") if isinstance(v, str)]
    if action not in ACTIONS:
        return forbidden_page(request, signed_in, "Unknown action; nothing was changed.")
    if not ids:
        return redirect_to(with_notice(back, "unchanged"))
    try:
        changed = moderation_of(request).bulk(action, ids, Actor.staff(signed_in.user))
    except NotFound as exc:
        return not_found_page(request, signed_in, f"{exc}; nothing was changed.")
    return redirect_to(with_notice(back, action, changed))


def _comment_page(request: Request, signed_in: accounts.SignedIn, comment_id: int, *,
                  edit_body: str | None = None, reply_body: str | None = None,
                  error: str = "", error_field: str = "", status_code: int = 200) -> Response:
    moderation = moderation_of(request)
    try:
        item = moderation.item(comment_id)
    except NotFound:
        return not_found_page(request, signed_in, f"There is no comment with id {comment_id}.")
    templates_list = moderation.templates()
    chosen = int_param(request.query_params.get("template"), 0)
    if reply_body is None:
        reply_body = next((t.body for t in templates_list if t.id == chosen), "")
    history, _ = moderation.audit(comment_id=comment_id)
    return render_page(request, "staff/comment.html", {
        "title": f"Comment #{comment_id}", "item": item, "templates": templates_list,
        "chosen_template": chosen, "edit_body": item.comment.body if edit_body is None
        else edit_body, "reply_body": reply_body, "error": error, "error_field": error_field,
        "history": history, "replies": moderation.replies(comment_id), "actions": ACTION_LABELS,
        "here": f"/staff/comments/{comment_id}", "notice": notice_of(request),
        "site_url": settings_of(request).site_url.rstrip("/"),
        "can_reply": item.comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED),
    }, status_code=status_code, signed_in=signed_in)


@router.get("/comments/{comment_id}", response_class=HTMLResponse)
def comment_page(request: Request, comment_id: int) -> Response:
    """One comment: its context, edit and reply forms, and its audit history."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    return _comment_page(request, signed_in, comment_id)


@router.post("/comments/{comment_id}/edit")
async def edit_comment(request: Request, comment_id: int) -> Response:
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    body = form_text(form, "body")
    try:
        changed = moderation_of(request).edit(comment_id, body, Actor.staff(signed_in.user))
    except NotFound:
        return not_found_page(request, signed_in, f"There is no comment with id {comment_id}.")
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, edit_body=body,
                             error=f"Edited text {str(exc).partition(': ')[2]}.",
                             error_field="edit", status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{comment_id}",
                                  "edit" if changed else "unchanged"))


@router.post("/comments/{comment_id}/reply")
async def reply(request: Request, comment_id: int) -> Response:
    """Publish a staff reply at once (approving a pending parent with it)."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    body = form_text(form, "body")
    try:
        created = moderation_of(request).reply_as_staff(comment_id, signed_in.user.id, body)
    except NotFound:
        return not_found_page(request, signed_in, f"There is no comment with id {comment_id}.")
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, reply_body=body,
                             error=f"Reply {str(exc).partition(': ')[2]}.",
                             error_field="reply", status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{created.id}", "reply"))
