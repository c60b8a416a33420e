"""Undo on staff pages: the notice's Undo button, "View on site", and the undo POST."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from comments_service.i18n import N_
from comments_service.verbs.audit import NotFound
from comments_service.verbs.moderation import Actor
from comments_service.verbs.undo import UNDO_WINDOW, undo_many
from comments_service.web.staff.common import (
    checked_post,
    form_text,
    int_param,
    moderation_of,
    not_found_page,
    redirect_to,
    router,
    safe_back,
    settings_of,
    with_notice,
)

MAX_UNDO_IDS = 200


@dataclass(frozen=True)
class UndoOffer:
    """What the notice after an action offers: undo these ids; view the one approved."""

    ids: list[int]
    minutes: int
    view_url: str
    mark: int


def _ids(raw: str) -> list[int]:
    ids = [int_param(part, -1) for part in raw.split(",")[:MAX_UNDO_IDS]]
    return [i for i in ids if i > 0]


def undo_offer(request: Request) -> UndoOffer | None:
    """The offer for the action just done (from the redirect's ``undo`` ids), if any."""
    ids = _ids(request.query_params.get("undo", ""))
    done = request.query_params.get("done", "")
    if not ids or done not in ("approve", "reject", "spam", "delete"):
        return None
    view_url = ""
    if done == "approve" and len(ids) == 1:
        try:
            item = moderation_of(request).item(ids[0])
        except NotFound:
            return None
        if item.article is not None:
            site = settings_of(request).site_url.rstrip("/")
            view_url = f"{site}/{item.article.url_path}#comment-{item.comment.id}"
    mark = int_param(request.query_params.get("mark"), 0)
    return UndoOffer(ids, int(UNDO_WINDOW.total_seconds() // 60), view_url, mark)


@router.post("/undo")
async def undo(request: Request) -> Response:
    """Put the comments back as they were before the last action, when still allowed."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    back = safe_back(form_text(form, "back"))
    ids = [int_param(v, -1) for v in form.getlist("ids")[:MAX_UNDO_IDS] if isinstance(v, str)]
    if not ids:
        return redirect_to(with_notice(back, "unchanged"))
    try:
        # Without a mark (an old page), only an action still the comment's last is undone.
        mark = int_param(form_text(form, "mark"), 0) or None
        done, refusal = undo_many(moderation_of(request).database, ids,
                                  Actor.staff(signed_in.user), mark)
    except NotFound as exc:
        return not_found_page(request, signed_in, N_("%(error)s; nothing was undone."),
                              error=exc)
    if not done:
        return redirect_to(with_notice(back, "undo_refused") + f"&why={refusal or 'nothing'}")
    return redirect_to(with_notice(back, "undo", done))
