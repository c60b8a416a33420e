"""Replies that protect the reader, on one comment's page: a private reply by mail, a
content note, rejecting with a reason, and withdrawing a comment at the reader's request.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.verbs.moderation import Actor, ModerationError, NotFound
from comments_service.web.staff.common import (
    checked_post,
    form_text,
    moderation_of,
    not_found_page,
    redirect_to,
    router,
    with_notice,
)
from comments_service.web.staff.queue import _comment_page


def _missing(request: Request, signed_in, comment_id: int) -> Response:  # type: ignore[no-untyped-def]
    return not_found_page(request, signed_in, N_("There is no comment with id %(id)s."),
                              id=comment_id)


@router.post("/comments/{comment_id}/private-reply")
async def private_reply(request: Request, comment_id: int) -> Response:
    """Mail a reply to the comment's author only; the comment is not published."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    body = form_text(form, "body")
    try:
        moderation_of(request).reply_privately(comment_id, signed_in.user.id, body)
    except NotFound:
        return _missing(request, signed_in, comment_id)
    except ModerationError as exc:
        sentence = (N_("Private reply %(problem)s.") if exc.field == "body"
                    else N_("Private reply not sent: %(problem)s."))
        return _comment_page(request, signed_in, comment_id, private_body=body,
                             error=i18n.refused(sentence, exc), error_field="private",
                             status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{comment_id}", "private_reply"))


@router.post("/comments/{comment_id}/content-note")
async def content_note(request: Request, comment_id: int) -> Response:
    """Set or clear the note the public page folds the comment's text behind."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    note = form_text(form, "content_note")
    try:
        changed = moderation_of(request).set_content_note(comment_id, note,
                                                          Actor.staff(signed_in.user))
    except NotFound:
        return _missing(request, signed_in, comment_id)
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, note=note,
                             error=i18n.refused(N_("Content note %(problem)s."), exc),
                             error_field="content_note", status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{comment_id}",
                                   "content_note" if changed else "unchanged"))


@router.post("/comments/{comment_id}/reject")
async def reject_with_reason(request: Request, comment_id: int) -> Response:
    """Reject a comment; an opted-in reader gets a kind note with the chosen reason."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    try:
        changed = moderation_of(request).reject(comment_id, Actor.staff(signed_in.user),
                                                form_text(form, "reason"))
    except NotFound:
        return _missing(request, signed_in, comment_id)
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id,
                             error=i18n.refused(N_("Reason %(problem)s."), exc),
                             error_field="reason", status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{comment_id}", "reject",
                                   1 if changed else 0))


@router.post("/comments/{comment_id}/withdraw")
async def withdraw(request: Request, comment_id: int) -> Response:
    """Withdraw a reader's comment for them (they asked by mail or phone), audited."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, _ = checked
    try:
        changed = moderation_of(request).withdraw_for_reader(comment_id,
                                                             Actor.staff(signed_in.user))
    except NotFound:
        return _missing(request, signed_in, comment_id)
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id,
                             error=i18n.refused(N_("Withdrawal refused: %(problem)s."), exc),
                             status_code=422)
    return redirect_to(with_notice(f"/staff/comments/{comment_id}",
                                   "withdrawn" if changed else "unchanged"))
