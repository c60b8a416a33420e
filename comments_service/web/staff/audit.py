"""The audit log page: every staff action, newest first."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service.i18n import N_
from comments_service.verbs.moderation import (
    PAGE_SIZE,
)
from comments_service.web.staff.common import (
    current_staff,
    int_param,
    moderation_of,
    render_page,
    router,
    sign_in_redirect,
)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, page: str = "1", comment: str = "") -> Response:
    """Who did what to which comment, when, with before and after for edits."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    comment_id = int_param(comment, 0) or None
    number = max(int_param(page, 1), 1)
    entries, total = moderation_of(request).audit(comment_id=comment_id, page=number)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_page(request, "staff/audit.html", {
        "title": N_("Audit log"), "entries": entries, "total": total, "page": number,
        "pages": pages, "comment_id": comment_id or "",
    }, signed_in=signed_in)
