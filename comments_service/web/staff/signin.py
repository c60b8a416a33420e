"""Staff sign-in and sign-out, and the staff stylesheet."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.verbs import accounts, spam
from comments_service.web.staff.common import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    WEB_DIR,
    checked_post,
    database_of,
    form_text,
    is_secure,
    keyring_of,
    notice_of,
    redirect_to,
    render_page,
    router,
    safe_back,
    settings_of,
)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/staff/") -> Response:
    """The sign-in form; its token is bound to a short-lived cookie (stops login CSRF)."""
    return _sign_in_form(request, safe_back(next), error="")


def _sign_in_form(request: Request, next_path: str, error: str, status_code: int = 200,
                  username: str = "") -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render_page(request, "staff/sign_in.html", {
        "title": N_("Sign in"), "next": next_path, "error": error, "username": username,
        "signin_token": accounts.signin_form_token(keyring_of(request), nonce),
        "notice": notice_of(request),
    }, status_code=status_code)
    response.set_cookie(SIGNIN_COOKIE, nonce, max_age=3600, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=is_secure(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    next_path = safe_back(form_text(form, "next"))
    username = form_text(form, "username").strip()
    if not accounts.signin_form_ok(keyring_of(request), request.cookies.get(SIGNIN_COOKIE),
                               form_text(form, "csrf_token")):
        return _sign_in_form(request, next_path, i18n.Translator(i18n.current()).gettext(
                                 N_("The form had expired. Please sign in again.")),
                             status_code=403, username=username)
    settings = settings_of(request)
    ip = spam.client_ip(request.client.host if request.client else None,
                        request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    try:
        signed_in = accounts.sign_in(database_of(request), keyring_of(request), username,
                                 form_text(form, "password"), ip)
    except accounts.SignInError as exc:
        return _sign_in_form(request, next_path, str(exc), status_code=401, username=username)
    response = redirect_to(next_path)
    response.set_cookie(SESSION_COOKIE, signed_in.token,
                        max_age=settings.session_max_age_seconds, path=COOKIE_PATH,
                        httponly=True, samesite="lax", secure=is_secure(request))
    response.delete_cookie(SIGNIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    accounts.sign_out(database_of(request), checked[0].token)
    response = redirect_to("/staff/sign-in?done=signed_out")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=is_secure(request))
    return response


@router.get("/staff.css")
def stylesheet() -> FileResponse:
    return FileResponse(WEB_DIR / "static" / "staff.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


@router.get("/staff.js")
def script() -> FileResponse:
    """The queue's progressive enhancement: shortcuts, quick reply, templates at the cursor."""
    return FileResponse(WEB_DIR / "static" / "staff.js", media_type="text/javascript",
                        headers={"Cache-Control": "max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})
