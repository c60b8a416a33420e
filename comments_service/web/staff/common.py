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

from comments_service import i18n
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.verbs import accounts, staff_time, urgency
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import (
    ACTIONS,
    Moderation,
)
from comments_service.web.staff import formatting

WEB_DIR = Path(__file__).resolve().parent.parent
SESSION_COOKIE = "staff_session"
SIGNIN_COOKIE = "staff_signin"
COOKIE_PATH = "/staff"

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
))
# _(), ngettext and <html lang dir> in the service's language (CommentsApp.language).
i18n.install(templates.env)

# Why a comment is urgent, as staff read it: "plans or means: 'hoarding my meds'".
templates.env.globals["urgent_reasons"] = urgency.describe
# One date format and natural counts on every staff page ("4 comments", "1 Dec 2026, 09:30").
formatting.install(templates.env)

router = APIRouter(prefix="/staff", include_in_schema=False)

# Message ids (N_): translated where shown, in notice_of and the templates' _().
ACTION_LABELS = {"approve": N_("Approve"), "reject": N_("Reject"), "spam": N_("Mark as spam"),
                 "delete": N_("Delete")}
DONE_MESSAGES = {
    "approve": N_("Approved {n}."),
    "reject": N_("Rejected {n}."),
    "spam": N_("Marked {n} as spam."),
    "delete": N_("Deleted {n}."),
    "undo": N_("Undone: {n} back as before."),
    "undo_refused": N_("Nothing was undone: {reason}"),
    "account": N_("Your account settings are saved."),
    "edit": N_("Saved the edited text. The original is kept in the audit log."),
    "unchanged": N_("Nothing changed."),
    "urgent_dismissed": N_("Marked as a false alarm: the comment is no longer urgent. The "
                           "reasons stay in its history."),
    "reply": N_("Your reply is published."),
    "private_reply": N_("Your private reply is queued for mail to the author. Nothing was "
                        "published."),
    "content_note": N_("Content note saved. The public page shows it within seconds."),
    "withdrawn": N_("The comment is withdrawn at the reader's request."),
    "template_saved": N_("Template saved."),
    "template_deleted": N_("Template deleted."),
    "signed_out": N_("You are signed out."),
}
# Why an undo was refused, by the short key its redirect carries.
UNDO_REFUSALS = {
    "expired": N_("the time to undo it has passed."),
    "superseded": N_("someone has acted on that comment since."),
    "nothing": N_("there was no recent action to undo."),
}
# The statuses as staff read them ({{ c.status.value | translate }}).
STATUS_WORDS = (N_("pending"), N_("approved"), N_("rejected"), N_("spam"), N_("deleted"),
                N_("all"))
ACTION_STATUS = {action: status.value for action, status in ACTIONS.items()}
STATUS_CHOICES = ["pending", "approved", "rejected", "spam", "deleted", "all"]
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
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
            "is_admin": bool(signed_in and signed_in.is_admin),
            "staff_zone": staff_time.zone_for(settings_of(request),
                                              signed_in.user if signed_in else None)}
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
    t = i18n.Translator(i18n.current())
    message = t.gettext(DONE_MESSAGES[done]) if done in DONE_MESSAGES else ""
    count = request.query_params.get("n", "")
    # ASCII digits of a sane length: "²".isdigit() is true, and int() refuses it (and
    # more than 4,300 digits), which made a hand-edited link a 500.
    wellformed = count.isascii() and count.isdigit() and len(count) <= 10
    counted = formatting.plural(int(count), "comment") if wellformed else ""
    why = request.query_params.get("why", "")
    reason = t.gettext(UNDO_REFUSALS[why]) if why in UNDO_REFUSALS else ""
    return message.format(n=counted, reason=reason)


def forbidden_page(request: Request, signed_in: accounts.SignedIn | None,
                   reason: str, **variables: object) -> HTMLResponse:
    """The refusal page; ``reason`` is a message id (N_), %(name)s filled from variables."""
    reason = i18n.Translator(i18n.current()).gettext(reason, **variables)
    return render_page(request, "staff/forbidden.html",
                       {"title": N_("Not allowed"), "reason": reason},
                       status_code=403, signed_in=signed_in)


def not_found_page(request: Request, signed_in: accounts.SignedIn | None,
                   what: str, **variables: object) -> HTMLResponse:
    """The not-found page; ``what`` is a message id (N_), %(name)s filled from variables."""
    what = i18n.Translator(i18n.current()).gettext(what, **variables)
    return render_page(request, "staff/forbidden.html", {"title": N_("Not found"), "reason": what},
                       status_code=404, signed_in=signed_in)


async def checked_post(request: Request,
                        admin: bool = False) -> tuple[accounts.SignedIn, FormData] | Response:
    """The signed-in staff member and the form, or the refusal to send back instead."""
    signed_in = current_staff(request)
    if signed_in is None:
        return forbidden_page(request, None, N_(
            "You are not signed in, or your session has ended. Sign in again and repeat what "
            "you were doing."))
    form = await request.form()
    submitted = form.get("csrf_token")
    if not accounts.csrf_ok(signed_in, submitted if isinstance(submitted, str) else None):
        return forbidden_page(request, signed_in, N_(
            "This form was out of date or did not come from this site, so nothing was "
            "changed. Go back, reload the page and try again."))
    if admin and not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can do this."))
    return signed_in, form


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def int_param(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default
