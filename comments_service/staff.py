"""Staff pages under /staff/: sign-in, moderation queue, replies, templates, audit, privacy.

Server-rendered and usable without JavaScript. Every state-changing request is a POST
carrying the session's CSRF token; without a valid one nothing changes.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from . import auth, erasure, spam
from .catalog import Catalog
from .config import Settings
from .db import Database
from .models import CommentStatus
from .moderation import (
    ACTIONS,
    PAGE_SIZE,
    Actor,
    Moderation,
    ModerationError,
    NotFound,
    QueueFilter,
)
from .privacy import Keyring

PACKAGE_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "staff_session"
SIGNIN_COOKIE = "staff_signin"
COOKIE_PATH = "/staff"

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
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


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _database(request: Request) -> Database:
    return request.app.state.database


def _keyring(request: Request) -> Keyring:
    return request.app.state.keyring


def _catalog(request: Request) -> Catalog:
    catalog = getattr(request.app.state, "catalog", None)
    if catalog is None:
        catalog = Catalog(_settings(request).docs_dir)
        request.app.state.catalog = catalog
    return catalog


def _moderation(request: Request) -> Moderation:
    return Moderation(_database(request), _keyring(request), _catalog(request))


def _secure(request: Request) -> bool:
    return _settings(request).public_service_url.startswith("https://")


def _signed_in(request: Request) -> auth.SignedIn | None:
    return auth.session_for(_database(request), request.cookies.get(SESSION_COOKIE))


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
            signed_in: auth.SignedIn | None = None) -> HTMLResponse:
    base = {"me": signed_in, "action_status": ACTION_STATUS, "notice": "", "error": "",
            "error_field": "",
            "csrf_token": signed_in.csrf_token if signed_in else "",
            "is_admin": bool(signed_in and signed_in.is_admin)}
    response = templates.TemplateResponse(request, name, {**base, **context},
                                          status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def _sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _redirect("/staff/sign-in?" + urlencode({"next": target}))


def _safe_back(value: str | None, default: str = "/staff/") -> str:
    """A same-site staff path to return to; anything else falls back to the queue."""
    if not value or not value.startswith("/staff/") or "//" in value or "\\" in value:
        return default
    return value


def _with_notice(url: str, done: str, count: int | None = None) -> str:
    params = {"done": done, **({"n": str(count)} if count is not None else {})}
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _notice(request: Request) -> str:
    done = request.query_params.get("done", "")
    message = DONE_MESSAGES.get(done, "")
    count = request.query_params.get("n", "")
    return message.format(n=count if count.isdigit() else "")


def _forbidden(request: Request, signed_in: auth.SignedIn | None, reason: str) -> HTMLResponse:
    return _render(request, "staff/forbidden.html", {"title": "Not allowed", "reason": reason},
                   status_code=403, signed_in=signed_in)


def _not_found(request: Request, signed_in: auth.SignedIn | None, what: str) -> HTMLResponse:
    return _render(request, "staff/forbidden.html", {"title": "Not found", "reason": what},
                   status_code=404, signed_in=signed_in)


async def _checked_post(request: Request,
                        admin: bool = False) -> tuple[auth.SignedIn, FormData] | Response:
    """The signed-in staff member and the form, or the refusal to send back instead."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _forbidden(request, None, "You are not signed in, or your session has ended. "
                          "Sign in again and repeat what you were doing.")
    form = await request.form()
    submitted = form.get("csrf_token")
    if not auth.csrf_ok(signed_in, submitted if isinstance(submitted, str) else None):
        return _forbidden(request, signed_in, "This form was out of date or did not come from "
                          "this site, so nothing was changed. Go back, reload the page and "
                          "try again.")
    if admin and not signed_in.is_admin:
        return _forbidden(request, signed_in, "Only admins can do this.")
    return signed_in, form


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


# Sign-in ----------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/staff/") -> Response:
    """The sign-in form; its token is bound to a short-lived cookie (stops login CSRF)."""
    return _sign_in_form(request, _safe_back(next), error="")


def _sign_in_form(request: Request, next_path: str, error: str, status_code: int = 200,
                  username: str = "") -> Response:
    nonce = secrets.token_urlsafe(24)
    response = _render(request, "staff/sign_in.html", {
        "title": "Sign in", "next": next_path, "error": error, "username": username,
        "signin_token": auth.signin_form_token(_keyring(request), nonce),
        "notice": _notice(request),
    }, status_code=status_code)
    response.set_cookie(SIGNIN_COOKIE, nonce, max_age=3600, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    next_path = _safe_back(_text(form, "next"))
    username = _text(form, "username").strip()
    if not auth.signin_form_ok(_keyring(request), request.cookies.get(SIGNIN_COOKIE),
                               _text(form, "csrf_token")):
        return _sign_in_form(request, next_path, "The form had expired. Please sign in again.",
                             status_code=403, username=username)
    settings = _settings(request)
    ip = spam.client_ip(request.client.host if request.client else None,
                        request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    try:
        signed_in = auth.sign_in(_database(request), _keyring(request), username,
                                 _text(form, "password"), ip)
    except auth.SignInError as exc:
        return _sign_in_form(request, next_path, str(exc), status_code=401, username=username)
    response = _redirect(next_path)
    response.set_cookie(SESSION_COOKIE, signed_in.token,
                        max_age=settings.session_max_age_seconds, path=COOKIE_PATH,
                        httponly=True, samesite="lax", secure=_secure(request))
    response.delete_cookie(SIGNIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    auth.sign_out(_database(request), checked[0].token)
    response = _redirect("/staff/sign-in?done=signed_out")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


@router.get("/staff.css")
def stylesheet() -> FileResponse:
    return FileResponse(PACKAGE_DIR / "static" / "staff.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


# The queue --------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def queue(request: Request, status: str = "pending", article: str = "", q: str = "",
          page: str = "1") -> Response:
    """The moderation queue with filters; pending comments come urgent first, then oldest."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _sign_in_redirect(request)
    moderation = _moderation(request)
    wanted = QueueFilter(status=status, article_id=article.strip(), query=q[:200],
                         page=_int(page, 1))
    error = ""
    try:
        result = moderation.queue(wanted)
    except ModerationError as exc:
        error = str(exc)
        wanted = QueueFilter()
        result = moderation.queue(wanted)
    here = "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                   "q": wanted.query, "page": wanted.page})
    catalog = _catalog(request)
    article_choices = [(aid, (catalog.get(aid).title if catalog.get(aid) else aid))
                       for aid in sorted(set(moderation.article_ids())
                                         | {a.id for a in catalog.all()})]

    def page_link(number: int) -> str:
        return "/staff/?" + urlencode({"status": wanted.status, "article": wanted.article_id,
                                       "q": wanted.query, "page": number})

    return _render(request, "staff/queue.html", {
        "title": "Moderation queue", "result": result, "filter": wanted, "here": here,
        "statuses": STATUS_CHOICES, "articles": article_choices, "error": error,
        "counts": moderation.counts(), "actions": ACTION_LABELS, "notice": _notice(request),
        "page_link": page_link, "site_url": _settings(request).site_url.rstrip("/"),
    }, signed_in=signed_in)


@router.post("/actions")
async def actions(request: Request) -> Response:
    """Approve, reject, mark as spam or delete one comment ("approve:12") or a selection."""
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    back = _safe_back(_text(form, "back"))
    action, _, single = _text(form, "action").partition(":")
    if single:
        ids = [_int(single, -1)]
    else:
        ids = [_int(v, -1) for v in form.getlist("ids") if isinstance(v, str)]
    if action not in ACTIONS:
        return _forbidden(request, signed_in, "Unknown action; nothing was changed.")
    if not ids:
        return _redirect(_with_notice(back, "unchanged"))
    try:
        changed = _moderation(request).bulk(action, ids, Actor.staff(signed_in.user))
    except NotFound as exc:
        return _not_found(request, signed_in, f"{exc}; nothing was changed.")
    return _redirect(_with_notice(back, action, changed))


# One comment ------------------------------------------------------------------------------


def _comment_page(request: Request, signed_in: auth.SignedIn, comment_id: int, *,
                  edit_body: str | None = None, reply_body: str | None = None,
                  error: str = "", error_field: str = "", status_code: int = 200) -> Response:
    moderation = _moderation(request)
    try:
        item = moderation.item(comment_id)
    except NotFound:
        return _not_found(request, signed_in, f"There is no comment with id {comment_id}.")
    templates_list = moderation.templates()
    chosen = _int(request.query_params.get("template"), 0)
    if reply_body is None:
        reply_body = next((t.body for t in templates_list if t.id == chosen), "")
    history, _ = moderation.audit(comment_id=comment_id)
    return _render(request, "staff/comment.html", {
        "title": f"Comment #{comment_id}", "item": item, "templates": templates_list,
        "chosen_template": chosen, "edit_body": item.comment.body if edit_body is None
        else edit_body, "reply_body": reply_body, "error": error, "error_field": error_field,
        "history": history, "replies": moderation.replies(comment_id), "actions": ACTION_LABELS,
        "here": f"/staff/comments/{comment_id}", "notice": _notice(request),
        "site_url": _settings(request).site_url.rstrip("/"),
        "can_reply": item.comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED),
    }, status_code=status_code, signed_in=signed_in)


@router.get("/comments/{comment_id}", response_class=HTMLResponse)
def comment_page(request: Request, comment_id: int) -> Response:
    """One comment: its context, edit and reply forms, and its audit history."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _sign_in_redirect(request)
    return _comment_page(request, signed_in, comment_id)


@router.post("/comments/{comment_id}/edit")
async def edit_comment(request: Request, comment_id: int) -> Response:
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    body = _text(form, "body")
    try:
        changed = _moderation(request).edit(comment_id, body, Actor.staff(signed_in.user))
    except NotFound:
        return _not_found(request, signed_in, f"There is no comment with id {comment_id}.")
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, edit_body=body,
                             error=f"Edited text {str(exc).partition(': ')[2]}.",
                             error_field="edit", status_code=422)
    return _redirect(_with_notice(f"/staff/comments/{comment_id}",
                                  "edit" if changed else "unchanged"))


@router.post("/comments/{comment_id}/reply")
async def reply(request: Request, comment_id: int) -> Response:
    """Publish a staff reply at once (approving a pending parent with it)."""
    checked = await _checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    body = _text(form, "body")
    try:
        created = _moderation(request).reply_as_staff(comment_id, signed_in.user.id, body)
    except NotFound:
        return _not_found(request, signed_in, f"There is no comment with id {comment_id}.")
    except ModerationError as exc:
        return _comment_page(request, signed_in, comment_id, reply_body=body,
                             error=f"Reply {str(exc).partition(': ')[2]}.",
                             error_field="reply", status_code=422)
    return _redirect(_with_notice(f"/staff/comments/{created.id}", "reply"))


# Audit log --------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, page: str = "1", comment: str = "") -> Response:
    """Who did what to which comment, when, with before and after for edits."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _sign_in_redirect(request)
    comment_id = _int(comment, 0) or None
    number = max(_int(page, 1), 1)
    entries, total = _moderation(request).audit(comment_id=comment_id, page=number)
    pages = max(1, -(-total // PAGE_SIZE))
    return _render(request, "staff/audit.html", {
        "title": "Audit log", "entries": entries, "total": total, "page": number,
        "pages": pages, "comment_id": comment_id or "",
    }, signed_in=signed_in)


# Reply templates --------------------------------------------------------------------------


@router.get("/templates", response_class=HTMLResponse)
def templates_page(request: Request) -> Response:
    """Saved replies; admins can add, change and remove them."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _sign_in_redirect(request)
    return _templates_page(request, signed_in)


def _templates_page(request: Request, signed_in: auth.SignedIn, error: str = "",
                    form_values: dict[str, str] | None = None,
                    status_code: int = 200) -> Response:
    return _render(request, "staff/templates.html", {
        "title": "Reply templates", "templates": _moderation(request).templates(),
        "error": error, "values": form_values or {"name": "", "body": "", "id": ""},
        "notice": _notice(request),
    }, status_code=status_code, signed_in=signed_in)


@router.post("/templates")
async def save_template(request: Request) -> Response:
    checked = await _checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    template_id = _int(_text(form, "id"), 0) or None
    name, body = _text(form, "name"), _text(form, "body")
    try:
        _moderation(request).save_template(Actor.staff(signed_in.user), name, body, template_id)
    except NotFound:
        return _not_found(request, signed_in, "That template no longer exists.")
    except ModerationError as exc:
        label = {"name": "Name", "body": "Text"}.get(exc.field, exc.field)
        return _templates_page(request, signed_in, f"{label} {str(exc).partition(': ')[2]}.",
                               {"name": name, "body": body, "id": str(template_id or "")},
                               status_code=422)
    return _redirect(_with_notice("/staff/templates", "template_saved"))


@router.post("/templates/{template_id}/delete")
async def delete_template(request: Request, template_id: int) -> Response:
    checked = await _checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, _form = checked
    try:
        _moderation(request).delete_template(Actor.staff(signed_in.user), template_id)
    except NotFound:
        return _not_found(request, signed_in, "That template no longer exists.")
    return _redirect(_with_notice("/staff/templates", "template_deleted"))


# Privacy ----------------------------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse)
def privacy_page(request: Request) -> Response:
    """Admins export or erase a commenter's data by email address."""
    signed_in = _signed_in(request)
    if signed_in is None:
        return _sign_in_redirect(request)
    if not signed_in.is_admin:
        return _forbidden(request, signed_in, "Only admins can export or erase data.")
    return _render(request, "staff/privacy.html", {
        "title": "Export or erase a commenter's data", "error": "", "report": None,
        "email": "", "retention_days": _settings(request).ip_hash_retention_days,
    }, signed_in=signed_in)


@router.post("/privacy/export")
async def privacy_export(request: Request) -> Response:
    # A POST although it changes nothing: the address stays out of URLs and server logs.
    checked = await _checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    email = _text(form, "email")
    try:
        data = erasure.export_by_email(_database(request), _keyring(request), email,
                                       Actor.staff(signed_in.user))
    except erasure.ErasureError as exc:
        return _privacy_error(request, signed_in, email, exc)
    return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={**SECURITY_HEADERS,
                             "Content-Disposition": 'attachment; filename="commenter-data.json"'})


@router.post("/privacy/erase")
async def privacy_erase(request: Request) -> Response:
    checked = await _checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    email = _text(form, "email")
    text_choice = _text(form, "text")
    if text_choice not in ("keep", "remove"):
        return _privacy_error(request, signed_in, email, erasure.ErasureError(
            "text", "choose whether to keep or remove the text"))
    if _text(form, "confirm") != "yes":
        return _privacy_error(request, signed_in, email, erasure.ErasureError(
            "confirm", "tick the box to confirm; erasure cannot be undone"))
    try:
        report = erasure.erase_by_email(_database(request), _keyring(request), email,
                                        Actor.staff(signed_in.user),
                                        keep_text=text_choice == "keep")
    except erasure.ErasureError as exc:
        return _privacy_error(request, signed_in, email, exc)
    return _render(request, "staff/privacy.html", {
        "title": "Export or erase a commenter's data", "error": "", "report": report,
        "email": "", "retention_days": _settings(request).ip_hash_retention_days,
    }, signed_in=signed_in)


def _privacy_error(request: Request, signed_in: auth.SignedIn, email: str,
                   exc: erasure.ErasureError) -> Response:
    labels = {"email": "Email address", "text": "Text", "confirm": "Confirmation"}
    return _render(request, "staff/privacy.html", {
        "title": "Export or erase a commenter's data",
        "error": f"{labels.get(exc.field, exc.field)}: {str(exc).partition(': ')[2]}.",
        "error_field": exc.field, "report": None, "email": email,
        "retention_days": _settings(request).ip_hash_retention_days,
    }, status_code=422, signed_in=signed_in)

