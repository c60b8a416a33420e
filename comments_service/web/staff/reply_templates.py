"""Reply templates: listed for staff, edited by admins."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service import i18n
from comments_service.i18n import N_, Messages
from comments_service.verbs import accounts
from comments_service.verbs.moderation import (
    Actor,
    ModerationError,
    NotFound,
)
from comments_service.web.staff.common import (
    checked_post,
    current_staff,
    form_text,
    int_param,
    moderation_of,
    not_found_page,
    notice_of,
    redirect_to,
    render_page,
    router,
    sign_in_redirect,
    with_notice,
)

_FIELD_LABELS = Messages({"name": N_("Name"), "body": N_("Text")})

@router.get("/templates", response_class=HTMLResponse)
def templates_page(request: Request) -> Response:
    """Saved replies; admins can add, change and remove them."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    return _templates_page(request, signed_in)


def _templates_page(request: Request, signed_in: accounts.SignedIn, error: str = "",
                    form_values: dict[str, str] | None = None,
                    status_code: int = 200) -> Response:
    return render_page(request, "staff/templates.html", {
        "title": N_("Reply templates"), "templates": moderation_of(request).templates(),
        "error": error, "values": form_values or {"name": "", "body": "", "id": ""},
        "notice": notice_of(request),
    }, status_code=status_code, signed_in=signed_in)


@router.post("/templates")
async def save_template(request: Request) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    template_id = int_param(form_text(form, "id"), 0) or None
    name, body = form_text(form, "name"), form_text(form, "body")
    try:
        moderation_of(request).save_template(Actor.staff(signed_in.user), name, body, template_id)
    except NotFound:
        return not_found_page(request, signed_in, N_("That template no longer exists."))
    except ModerationError as exc:
        label = _FIELD_LABELS.get(exc.field, exc.field)
        return _templates_page(request, signed_in,
                               i18n.refused(N_("%(label)s %(problem)s."), exc, label=label),
                               {"name": name, "body": body, "id": str(template_id or "")},
                               status_code=422)
    return redirect_to(with_notice("/staff/templates", "template_saved"))


@router.post("/templates/{template_id}/delete")
async def delete_template(request: Request, template_id: int) -> Response:
    checked = await checked_post(request, admin=True)
    if isinstance(checked, Response):
        return checked
    signed_in, _form = checked
    try:
        moderation_of(request).delete_template(Actor.staff(signed_in.user), template_id)
    except NotFound:
        return not_found_page(request, signed_in, N_("That template no longer exists."))
    return redirect_to(with_notice("/staff/templates", "template_deleted"))
