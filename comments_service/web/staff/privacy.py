"""The privacy screen for admins: export or erase a commenter's data by email."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_, Messages
from comments_service.verbs import accounts, privacy
from comments_service.verbs.moderation import (
    Actor,
)
from comments_service.web.staff.common import (
    SECURITY_HEADERS,
    checked_post,
    current_staff,
    database_of,
    forbidden_page,
    form_text,
    keyring_of,
    render_page,
    router,
    settings_of,
    sign_in_redirect,
)


@router.get("/privacy", response_class=HTMLResponse)
def privacy_page(request: Request) -> Response:
    """Admins export or erase a commenter's data by email address."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    if not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can export or erase data."))
    return render_page(request, "staff/privacy.html", {
        "title": N_("Export or erase a commenter's data"), "error": "", "report": None,
        "email": "", "retention_days": settings_of(request).ip_hash_retention_days,
    }, signed_in=signed_in)


@router.post("/privacy/export")
async def privacy_export(request: Request) -> Response:
    # A POST although it changes nothing: the address stays out of URLs and server logs.
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    email = form_text(form, "email")
    try:
        data = privacy.export_by_email(database_of(request), keyring_of(request), email,
                                       Actor.staff(signed_in.user))
    except privacy.ErasureError as exc:
        return _privacy_error(request, signed_in, email, exc)
    return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={**SECURITY_HEADERS,
                             "Content-Disposition": 'attachment; filename="commenter-data.json"'})


@router.post("/privacy/erase")
async def privacy_erase(request: Request) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    email = form_text(form, "email")
    text_choice = form_text(form, "text")
    if text_choice not in ("keep", "remove"):
        return _privacy_error(request, signed_in, email, privacy.ErasureError(
            "text", N_("choose whether to keep or remove the text")))
    if form_text(form, "confirm") != "yes":
        return _privacy_error(request, signed_in, email, privacy.ErasureError(
            "confirm", N_("tick the box to confirm; erasure cannot be undone")))
    try:
        report = privacy.erase_by_email(database_of(request), keyring_of(request), email,
                                        Actor.staff(signed_in.user),
                                        keep_text=text_choice == "keep")
    except privacy.ErasureError as exc:
        return _privacy_error(request, signed_in, email, exc)
    return render_page(request, "staff/privacy.html", {
        "title": N_("Export or erase a commenter's data"), "error": "", "report": report,
        "email": "", "retention_days": settings_of(request).ip_hash_retention_days,
    }, signed_in=signed_in)


def _privacy_error(request: Request, signed_in: accounts.SignedIn, email: str,
                   exc: privacy.ErasureError) -> Response:
    labels = Messages({"email": N_("Email address"), "text": N_("Text"),
                       "confirm": N_("Confirmation")})
    return render_page(request, "staff/privacy.html", {
        "title": N_("Export or erase a commenter's data"),
        "error": i18n.refused(N_("%(label)s: %(problem)s."), exc,
                              label=labels.get(exc.field, exc.field)),
        "error_field": exc.field, "report": None, "email": email,
        "retention_days": settings_of(request).ip_hash_retention_days,
    }, status_code=422, signed_in=signed_in)
