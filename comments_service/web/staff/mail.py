"""The failed-mail screen for admins: mails the outbox gave up on, and a Retry button."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.verbs import failed_mail
from comments_service.web.staff.common import (
    checked_post,
    current_staff,
    database_of,
    forbidden_page,
    form_text,
    keyring_of,
    notice_of,
    redirect_to,
    render_page,
    router,
    settings_of,
    sign_in_redirect,
)

MAIL_PATH = "/staff/mail"


@router.get("/mail", response_class=HTMLResponse)
def failed_mail_page(request: Request) -> Response:
    """Failed mails, newest first, with masked recipients, each with a Retry button."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    if not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can see failed mail."))
    mails = failed_mail.list_failed(database_of(request), keyring_of(request))
    done = request.query_params.get("done", "")
    count = request.query_params.get("n", "")
    notice = (i18n.Translator(i18n.current()).ngettext(
        "Put %(num)d mail back in the queue.", "Put %(num)d mails back in the queue.",
        int(count)) if done == "mail_retried" and count.isdigit() else notice_of(request))
    return render_page(request, "staff/mail.html", {
        "title": N_("Failed mail"), "mails": mails, "notice": notice,
        "retry_hours": settings_of(request).mail_retry_hours,
        "limit": failed_mail.LIST_LIMIT,
    }, signed_in=signed_in)


@router.post("/mail/retry")
async def retry_failed_mail(request: Request) -> Response:
    """Queue one failed mail (mail_id) or all of them (all=yes) again, due now."""
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    _, form = checked
    mail_id = form_text(form, "mail_id")
    if form_text(form, "all") == "yes":
        ids = None
    elif mail_id.isascii() and mail_id.isdigit() and len(mail_id) <= 10:
        # ASCII digits only ("²".isdigit() is true, but int() refuses it).
        ids = [int(mail_id)]
    else:
        # Nothing to name: the page's buttons always send one or the other.
        return redirect_to(MAIL_PATH)
    count = failed_mail.retry_failed(database_of(request), keyring_of(request), ids)
    return redirect_to(f"{MAIL_PATH}?done=mail_retried&n={count}")
