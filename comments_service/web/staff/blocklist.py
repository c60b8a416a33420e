"""The blocklist screen for admins: add and remove rules on addresses, domains, networks, words."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_, Messages
from comments_service.verbs import accounts, comments
from comments_service.verbs.audit import Actor, ModerationError, NotFound
from comments_service.verbs.blocklist import Blocklist
from comments_service.web.staff.common import (
    checked_post,
    current_staff,
    database_of,
    forbidden_page,
    form_text,
    keyring_of,
    not_found_page,
    redirect_to,
    render_page,
    router,
    sign_in_redirect,
)

TITLE = N_("Blocklist")
KINDS = Messages({"email": N_("Email address"), "domain": N_("Email domain"),
                  "network": N_("IP address or network"), "phrase": N_("Word or phrase")})
ACTIONS = Messages({"hold": N_("Hold for a moderator"), "spam": N_("Store as spam"),
                    "refuse": N_("Refuse with a neutral message")})
FIELD_LABELS = Messages({"kind": N_("What to match"), "value": N_("Value"),
                         "action": N_("What it does"), "note": N_("Note")})
NOTICES = Messages({"added": N_("Rule added. It applies to new comments from now on."),
                    "removed": N_("Rule removed.")})


def _page(request: Request, signed_in: accounts.SignedIn, *, form: dict[str, str] | None = None,
          error: str = "", error_field: str = "", status_code: int = 200) -> HTMLResponse:
    blocks = Blocklist(database_of(request), keyring_of(request)).all()
    return render_page(request, "staff/blocklist.html", {
        "title": TITLE, "blocks": blocks, "kinds": KINDS, "actions": ACTIONS,
        "form": form or {"kind": "email", "value": "", "action": "hold", "note": ""},
        "error": error, "error_field": error_field,
        "notice": NOTICES.get(request.query_params.get("done", ""), ""),
        "refused_message": comments.Refused().detail,
    }, status_code=status_code, signed_in=signed_in)


@router.get("/blocklist", response_class=HTMLResponse)
def blocklist_page(request: Request) -> Response:
    """Admins see every rule and add or remove them."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    if not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can change the blocklist."))
    return _page(request, signed_in)


@router.post("/blocklist")
async def add_block(request: Request) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    wanted = {name: form_text(form, name) for name in ("kind", "value", "action", "note")}
    try:
        Blocklist(database_of(request), keyring_of(request)).add(
            Actor.staff(signed_in.user), wanted["kind"], wanted["value"], wanted["action"],
            wanted["note"])
    except ModerationError as exc:
        label = FIELD_LABELS.get(exc.field, exc.field)
        return _page(request, signed_in, form=wanted, status_code=422, error_field=exc.field,
                     error=i18n.refused(N_("%(label)s %(problem)s."), exc, label=label))
    return redirect_to("/staff/blocklist?done=added")


@router.post("/blocklist/{block_id}/remove")
async def remove_block(request: Request, block_id: int) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, _ = checked
    try:
        Blocklist(database_of(request), keyring_of(request)).remove(
            Actor.staff(signed_in.user), block_id)
    except NotFound:
        return not_found_page(request, signed_in, N_("There is no rule with id %(id)s."),
                              id=block_id)
    return redirect_to("/staff/blocklist?done=removed")
