"""The pause screen for admins: close every comment form on the site, or reopen them."""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_, Messages
from comments_service.verbs import accounts, pause
from comments_service.verbs.audit import Actor, ModerationError
from comments_service.web.staff.common import (
    catalog_of,
    checked_post,
    current_staff,
    database_of,
    forbidden_page,
    form_text,
    redirect_to,
    render_page,
    router,
    sign_in_redirect,
)

TITLE = N_("Pause comments")
NOTICES = Messages({
    "paused": N_("Comments are paused: every form is closed and pages are being re-baked."),
    "resumed": N_("Comments are open again: pages are being re-baked with their forms.")})


def _page(request: Request, signed_in: accounts.SignedIn, *, message: str, error: str = "",
          status_code: int = 200) -> HTMLResponse:
    state = pause.current(database_of(request))
    done = request.query_params.get("done", "")
    return render_page(request, "staff/pause.html", {
        "title": TITLE, "state": state, "message": message, "error": error,
        "error_field": "message" if error else "", "notice": NOTICES.get(done, ""),
        "max_message": pause.MAX_MESSAGE, "default_message": pause.DEFAULT_MESSAGE,
    }, status_code=status_code, signed_in=signed_in)


@router.get("/pause", response_class=HTMLResponse)
def pause_page(request: Request) -> Response:
    """Admins see whether comments are paused, and turn the pause on or off."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    if not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can pause comments."))
    state = pause.current(database_of(request))
    return _page(request, signed_in, message=state.message)


@router.post("/pause")
async def pause_toggle(request: Request) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    wanted = form_text(form, "paused")
    message = form_text(form, "message")
    if wanted not in ("on", "off"):
        return _page(request, signed_in, message=message, status_code=422,
                     error=i18n.Translator(i18n.current()).gettext(
                         N_("Pause: choose whether to pause comments or open them.")))
    articles = [article.id for article in catalog_of(request).all()]
    try:
        await run_in_threadpool(
            pause.set_paused, database_of(request), Actor.staff(signed_in.user),
            wanted == "on", articles, message if wanted == "on" else None)
    except ModerationError as exc:
        return _page(request, signed_in, message=message, status_code=422,
                     error=i18n.refused(N_("Message for readers: %(problem)s."), exc))
    return redirect_to("/staff/pause?done=" + ("paused" if wanted == "on" else "resumed"))
