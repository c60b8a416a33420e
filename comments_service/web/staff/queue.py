"""The moderation queue, one comment's page, editing and replying as staff."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import accounts, queue_context
from comments_service.verbs.moderation import (
    ACTIONS,
    Actor,
    ModerationError,
    NotFound,
    QueueFilter,
)
from comments_service.verbs.outcome_mail import REJECTION_REASONS
from comments_service.verbs.undo import latest_entry_id, statuses
from comments_service.web.staff.common import (
    ACTION_LABELS,
    ACTION_STATUS,
    STATUS_CHOICES,
    catalog_of,
    checked_post,
    current_staff,
    database_of,
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
from comments_service.web.staff.undo import undo_offer


@router.get("/", response_class=HTMLResponse)
def queue(request: Request, status: str = "pending", article: str = "", q: str = "",
          page: str = "1", group: str = "") -> Response:
    """The moderation queue with filters; pending comments come urgent first, then oldest.

    ``group=article`` gathers the page's rows under their articles, each with the
    article's other recent comments for context.
    """
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
    grouped = group == "article"
    here = "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                   "q": wanted.query, "page": wanted.page,
                                   **({"group": "article"} if grouped else {})})
    catalog = catalog_of(request)
    article_choices = [(aid, (catalog.get(aid).title if catalog.get(aid) else aid))
                       for aid in sorted(set(moderation.article_ids())
                                         | {a.id for a in catalog.all()})]

    def page_link(number: int) -> str:
        return "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                       "q": wanted.query, "page": number,
                                       **({"group": "article"} if grouped else {})})

    groups = queue_context.by_article(result.items) if grouped else []
    context_comments = (queue_context.recent_others(
        database_of(request), [g.article_id for g in groups],
        {i.comment.id for i in result.items}) if grouped else {})
    templates_list = moderation.templates()
    return render_page(request, "staff/queue.html", {
        "grouped": grouped, "groups": groups, "context_comments": context_comments,
        "templates": templates_list, "templates_json": templates_json(templates_list),
        "undo_offer": undo_offer(request), "can_reply_to": can_reply_to,
        "title": N_("Moderation queue"), "result": result, "filter": wanted, "here": here,
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
    if action == "dismiss_urgent" and single:
        try:
            dismissed = moderation_of(request).dismiss_urgent(ids[0], Actor.staff(signed_in.user))
        except NotFound as exc:
            return not_found_page(request, signed_in, N_("%(error)s; nothing was changed."),
                              error=exc)
        return redirect_to(with_notice(back, "urgent_dismissed" if dismissed else "unchanged"))
    if action not in ACTIONS:
        return forbidden_page(request, signed_in, N_("Unknown action; nothing was changed."))
    if not ids:
        return redirect_to(with_notice(back, "unchanged"))
    if action == "delete" and not single and form_text(form, "confirm") != "yes":
        return _confirm_delete(request, signed_in, ids, back)
    moderation = moderation_of(request)
    before = statuses(moderation.database, ids)
    try:
        changed = moderation.bulk(action, ids, Actor.staff(signed_in.user))
    except NotFound as exc:
        return not_found_page(request, signed_in, N_("%(error)s; nothing was changed."),
                              error=exc)
    # Only the comments this action changed can be undone; the rest were already so.
    undoable = [i for i, status in before.items() if status.value != ACTION_STATUS[action]]
    target = with_notice(back, action, changed)
    if undoable:
        target += "&" + urlencode({"undo": ",".join(str(i) for i in undoable),
                                   "mark": latest_entry_id(moderation.database)})
    return redirect_to(target)


def _confirm_delete(request: Request, signed_in: accounts.SignedIn, ids: list[int],
                    back: str) -> Response:
    """Ask before a bulk delete: the selection, and one button that really deletes."""
    moderation = moderation_of(request)
    try:
        items = [moderation.item(i) for i in sorted(set(ids))]
    except NotFound as exc:
        return not_found_page(request, signed_in, N_("%(error)s; nothing was changed."),
                              error=exc)
    return render_page(request, "staff/confirm_delete.html", {
        "title": N_("Delete these comments?"), "items": items, "back": back,
        "site_url": settings_of(request).site_url.rstrip("/"),
    }, signed_in=signed_in)


def can_reply_to(comment: Comment) -> bool:
    """Whether staff may answer the comment in public (pending or approved only)."""
    return comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED)


def templates_json(templates_list: list) -> str:  # type: ignore[type-arg]
    """Reply templates as JSON for staff.js, safe inside a <script type=application/json>."""
    data = [{"id": t.id, "name": t.name, "body": t.body} for t in templates_list]
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e")


def _comment_page(request: Request, signed_in: accounts.SignedIn, comment_id: int, *,
                  edit_body: str | None = None, reply_body: str | None = None,
                  private_body: str | None = None, note: str | None = None,
                  error: str = "", error_field: str = "", status_code: int = 200) -> Response:
    moderation = moderation_of(request)
    try:
        item = moderation.item(comment_id)
    except NotFound:
        return not_found_page(request, signed_in, N_("There is no comment with id %(id)s."),
                              id=comment_id)
    templates_list = moderation.templates()
    chosen = int_param(request.query_params.get("template"), 0)
    if reply_body is None:
        reply_body = next((t.body for t in templates_list if t.id == chosen), "")
    # The private reply has its own "Use template", so each form keeps its own text.
    private_chosen = int_param(request.query_params.get("private_template"), 0)
    if private_body is None:
        private_body = next((t.body for t in templates_list if t.id == private_chosen), "")
    history, _ = moderation.audit(comment_id=comment_id)
    return render_page(request, "staff/comment.html", {
        "title": i18n.Translator(i18n.current()).gettext(N_("Comment #%(id)s"),
                                                       id=comment_id),
        "item": item, "templates": templates_list,
        "templates_json": templates_json(templates_list), "undo_offer": undo_offer(request),
        "chosen_template": chosen, "edit_body": item.comment.body if edit_body is None
        else edit_body, "reply_body": reply_body, "error": error, "error_field": error_field,
        "history": history, "replies": moderation.replies(comment_id), "actions": ACTION_LABELS,
        "here": f"/staff/comments/{comment_id}", "notice": notice_of(request),
        "site_url": settings_of(request).site_url.rstrip("/"),
        "can_reply": item.comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED),
        "private_chosen": private_chosen, "private_body": private_body,
        "note_text": item.comment.content_note if note is None else note,
        "rejection_reasons": {k: label for k, (label, _) in REJECTION_REASONS.items()},
        "can_mail_author": bool(item.email) and not item.comment.is_staff,
        "can_withdraw": not item.comment.is_staff and item.comment.status not in (
            CommentStatus.DELETED, CommentStatus.SPAM),
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
        return not_found_page(request, signed_in, N_("There is no comment with id %(id)s."),
                              id=comment_id)
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, edit_body=body,
                             error=i18n.refused(N_("Edited text %(problem)s."), exc),
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
    if form_text(form, "use_template"):
        # "Use template" without JavaScript: what was typed stays, the template follows it.
        chosen = int_param(form_text(form, "template"), 0)
        return _comment_page(request, signed_in, comment_id, reply_body=_appended(
            body, moderation_of(request).templates(), chosen))
    try:
        created = moderation_of(request).reply_as_staff(
            comment_id, signed_in.user.id, body,
            publish_parent=form_text(form, "publish_parent") == "yes")
    except NotFound:
        return not_found_page(request, signed_in, N_("There is no comment with id %(id)s."),
                              id=comment_id)
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, reply_body=body,
                             error=i18n.refused(N_("Reply %(problem)s."), exc),
                             error_field="publish_parent" if exc.field == "publish_parent"
                             else "reply", status_code=422)
    back = form_text(form, "back")
    if back:
        # A quick reply from the queue goes back to the queue, where the row has gone.
        return redirect_to(with_notice(safe_back(back), "reply"))
    return redirect_to(with_notice(f"/staff/comments/{created.id}", "reply"))


def _appended(typed: str, templates_list: list, chosen: int) -> str:  # type: ignore[type-arg]
    """The typed reply with the chosen template's text after it (or alone when none typed)."""
    body = next((t.body for t in templates_list if t.id == chosen), "")
    typed = typed.rstrip()
    if not body:
        return typed
    return f"{typed}\n\n{body}" if typed else body
