"""What every staff screen shares: the router, templates, security headers, request plumbing.

Server-rendered and usable without JavaScript. Every state-changing request is a POST
carrying the session's CSRF token; without a valid one nothing changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.verbs import accounts
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import (
    ACTIONS,
    Moderation,
)

WEB_DIR = Path(__file__).resolve().parent.parent
SESSION_COOKIE = "staff_session"
SIGNIN_COOKIE = "staff_signin"
COOKIE_PATH = "/staff"

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
))

router = APIRouter(prefix="/staff", include_in_schema=False)

ACTION_LABELS = {"approve": "Approve", "reject": "Reject", "spam": "Mark as spam",
                 "delete": "Delete"}
DONE_MESSAGES = {
    "approve": "Approved {n} comment(s).",
    "reject": "Rejected {n} comment(s).",
    "spam": "Marked {n} comment(s) as spam.",
    "delete": "Deleted {n} comment(s).",
    "edit": "Saved the edited text. The original is kept in the audit log.",
    "unchanged": "Nothing changed.",
    "reply": "Your reply is published.",
    "template_saved": "Template saved.",
    "template_deleted": "Template deleted.",
    "signed_out": "You are signed out.",
}
ACTION_STATUS = {action: status.value for action, status in ACTIONS.items()}
STATUS_CHOICES = ["pending", "approved", "rejected", "spam", "deleted", "all"]
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


# Plumbing ---------------------------------------------------------------------------------


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def database_of(request: Request) -> Database:
    return request.app.state.database


def keyring_of(request: Request) -> Keyring:
    return request.app.state.keyring


def catalog_of(request: Request) -> Catalog:
    catalog = getattr(request.app.state, "catalog", None)
    if catalog is None:
        catalog = Catalog(settings_of(request).docs_dir)
        request.app.state.catalog = catalog
    return catalog


def moderation_of(request: Request) -> Moderation:
    return Moderation(database_of(request), keyring_of(request), catalog_of(request))


def is_secure(request: Request) -> bool:
    return settings_of(request).public_service_url.startswith("https://")


def current_staff(request: Request) -> accounts.SignedIn | None:
    return accounts.session_for(database_of(request), request.cookies.get(SESSION_COOKIE))


def render_page(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
            signed_in: accounts.SignedIn | None = None) -> HTMLResponse:
    base = {"me": signed_in, "action_status": ACTION_STATUS, "notice": "", "error": "",
            "error_field": "",
            "csrf_token": signed_in.csrf_token if signed_in else "",
            "is_admin": bool(signed_in and signed_in.is_admin)}
    response = templates.TemplateResponse(request, name, {**base, **context},
                                          status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect_to(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect_to("/staff/sign-in?" + urlencode({"next": target}))


def safe_back(value: str | None, default: str = "/staff/") -> str:
    """A same-site staff path to return to; anything else falls back to the queue."""
    if not value or not value.startswith("/staff/") or "//" in value or "\\" in value:
        return default
    return value


def with_notice(url: str, done: str, count: int | None = None) -> str:
    params = {"done": done, **({"n": str(count)} if count is not None else {})}
    return url + ("&" if "?" in url else "?") + urlencode(params)


def notice_of(request: Request) -> str:
    done = request.query_params.get("done", "")
    message = DONE_MESSAGES.get(done, "")
    count = request.query_params.get("n", "")
    return message.format(n=count if count.isdigit() else "")


def forbidden_page(request: Request, signed_in: accounts.SignedIn | None,
                   reason: str) -> HTMLResponse:
    return render_page(request, "staff/forbidden.html", {"title": "Not allowed", "reason": reason},
                       status_code=403, signed_in=signed_in)


def not_found_page(request: Request, signed_in: accounts.SignedIn | None,
                   what: str) -> HTMLResponse:
    return render_page(request, "staff/forbidden.html", {"title": "Not found", "reason": what},
                       status_code=404, signed_in=signed_in)


async def checked_post(request: Request,
                        admin: bool = False) -> tuple[accounts.SignedIn, FormData] | Response:
    """The signed-in staff member and the form, or the refusal to send back instead."""
    signed_in = current_staff(request)
    if signed_in is None:
        return forbidden_page(request, None, "You are not signed in, or your session has ended. "
                          "Sign in again and repeat what you were doing.")
    form = await request.form()
    submitted = form.get("csrf_token")
    if not accounts.csrf_ok(signed_in, submitted if isinstance(submitted, str) else None):
        return forbidden_page(request, signed_in, "This form was out of date or did not come from "
                          "this site, so nothing was changed. Go back, reload the page and "
                          "try again.")
    if admin and not signed_in.is_admin:
        return forbidden_page(request, signed_in, "Only admins can do this.")
    return signed_in, form


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def int_param(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default
