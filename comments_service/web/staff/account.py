"""Your account: the settings a staff member changes for themselves (their time zone)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store.models import utcnow
from comments_service.verbs import staff_time
from comments_service.verbs.accounts import AccountError
from comments_service.web.staff.common import (
    checked_post,
    current_staff,
    database_of,
    form_text,
    notice_of,
    redirect_to,
    render_page,
    router,
    settings_of,
    sign_in_redirect,
    with_notice,
)


def _page(request: Request, signed_in, time_zone: str, error: str = "",  # type: ignore[no-untyped-def]
          status_code: int = 200) -> HTMLResponse:
    return render_page(request, "staff/account.html", {
        "title": N_("Your account"), "time_zone": time_zone, "error": error,
        "error_field": "time_zone" if error else "", "notice": notice_of(request),
        "default_zone": staff_time.default_zone_name(settings_of(request)),
        "zones": staff_time.zone_choices(), "now": utcnow(),
    }, status_code=status_code, signed_in=signed_in)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request) -> Response:
    """The signed-in account's own settings."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    return _page(request, signed_in, signed_in.user.time_zone)


@router.post("/account")
async def save_account(request: Request) -> Response:
    """Save the account's time zone; an unknown zone is refused, naming the field."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    wanted = form_text(form, "time_zone")
    try:
        staff_time.set_time_zone(database_of(request), signed_in.user.username, wanted)
    except AccountError as exc:
        return _page(request, signed_in, wanted[:80],
                     error=i18n.refused(N_("Time zone: %(problem)s."), exc), status_code=422)
    return redirect_to(with_notice("/staff/account", "account"))
