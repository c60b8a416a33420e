"""Spam and trust on staff pages: rescoring pending comments, revoking a commenter's trust."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from comments_service.i18n import N_
from comments_service.store.models import Comment
from comments_service.verbs import spam_learning
from comments_service.verbs.audit import Actor, ModerationError, NotFound
from comments_service.verbs.trusted import Trust
from comments_service.web.staff.common import (
    DONE_MESSAGES,
    checked_post,
    database_of,
    form_text,
    not_found_page,
    redirect_to,
    router,
    settings_of,
    templates,
    with_notice,
)

DONE_MESSAGES.update({
    "rescored": N_("Rescored {n} pending comment(s) with what the classifier knows now."),
    "trust_revoked": N_("Trust revoked: this commenter's comments will wait for a moderator."),
    "trust_restored": N_("Trust restored: this commenter is trusted again under the usual "
                         "rule."),
})


def commenter_trust(request: Request, comment: Comment) -> dict[str, Any]:
    """For the comment page: whether trust applies to its author, is on, and is revoked."""
    applies = bool(comment.email_hash) and not comment.is_staff
    needed = settings_of(request).trusted_after
    revoked = applies and Trust(database_of(request)).is_revoked(comment.email_hash)
    return {"applies": applies, "enabled": needed > 0, "needed": needed, "revoked": revoked}


templates.env.globals["commenter_trust"] = commenter_trust


@router.post("/spam/rescore")
async def rescore(request: Request) -> Response:
    """Score every pending comment again (e.g. after many decisions), then show Likely spam."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    count = await run_in_threadpool(spam_learning.rescore_pending, database_of(request))
    return redirect_to(with_notice("/staff/?status=likely_spam", "rescored", count))


@router.post("/comments/{comment_id}/trust")
async def trust(request: Request, comment_id: int) -> Response:
    """Revoke (or restore) the trust of a comment's author, by their address's hash."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    wanted = form_text(form, "trust")
    verbs = Trust(database_of(request))
    actor = Actor.staff(signed_in.user)
    back = f"/staff/comments/{comment_id}"
    try:
        if wanted == "revoke":
            changed = verbs.revoke(comment_id, actor)
            done = "trust_revoked" if changed else "unchanged"
        elif wanted == "restore":
            changed = verbs.restore(comment_id, actor)
            done = "trust_restored" if changed else "unchanged"
        else:
            done = "unchanged"
    except NotFound:
        return not_found_page(request, signed_in, N_("There is no comment with id %(id)s."),
                              id=comment_id)
    except ModerationError as exc:
        return not_found_page(request, signed_in, N_("Comment %(problem)s."),
                              problem=exc.text())
    return redirect_to(with_notice(back, done))
