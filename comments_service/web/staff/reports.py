"""Reader reports for staff: the "Reported" list, and dismissing or upholding reports.

The queue row and the comment page show how many open reports a comment has (the
``open_reports`` template function, an include each); the comment page lists the reports
with the decision form. Decisions are one transaction each in verbs/reports.py, audited.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from comments_service.i18n import N_, Messages
from comments_service.verbs import reports
from comments_service.verbs.audit import Actor, ModerationError, NotFound
from comments_service.verbs.keyring import Keyring
from comments_service.web.staff.common import (
    checked_post,
    current_staff,
    database_of,
    form_text,
    keyring_of,
    not_found_page,
    redirect_to,
    render_page,
    router,
    sign_in_redirect,
    templates,
)

TITLE = N_("Reported comments")
DONE = Messages({"dismissed": N_("The reports were dismissed."),
                 "upheld": N_("The reports were upheld.")})


def open_reports(request: Request, comment_id: int) -> int:
    """Open reports of one comment, for the queue row and the comment page."""
    with database_of(request).read() as session:
        return reports.open_counts(session, [comment_id]).get(comment_id, 0)


def comment_reports(request: Request, comment_id: int) -> list[dict[str, object]]:
    """Every report of a comment as the comment page lists it (the address decrypted)."""
    keyring: Keyring = keyring_of(request)
    return [{"report": r, "reason": reports.REASONS.get(r.reason, r.reason),
             "email": keyring.decrypt_email(r.reporter_email_encrypted)
             if r.reporter_email_encrypted else ""}
            for r in reports.reports_of(database_of(request), comment_id)]


templates.env.globals["open_reports"] = open_reports
templates.env.globals["comment_reports"] = comment_reports
templates.env.globals["report_decisions"] = reports.DECISIONS


@router.get("/reports", response_class=HTMLResponse)
def reported_list(request: Request) -> Response:
    """Comments with open reports: those the reports hid first, then the most reported."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    found = reports.reported(database_of(request))
    return render_page(request, "staff/reports.html", {
        "title": TITLE, "reported": found,
        "notice": DONE.get(request.query_params.get("done", ""), ""),
    }, signed_in=signed_in)


@router.post("/comments/{comment_id}/reports")
async def decide_reports(comment_id: int, request: Request) -> Response:
    """Dismiss or uphold (reject or delete the comment) every open report of a comment."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    signed_in, form = checked
    decision = form_text(form, "decision")
    try:
        await run_in_threadpool(reports.decide, database_of(request),
                                Actor.staff(signed_in.user), comment_id, decision,
                                form_text(form, "statement"))
    except NotFound as exc:
        return not_found_page(request, signed_in, N_("%(error)s; nothing was changed."),
                              error=exc)
    except ModerationError as exc:
        return render_page(request, "staff/forbidden.html", {
            "title": N_("Reports not changed"), "reason": f"{exc}. Nothing was changed; go back "
            "and try again."}, status_code=422, signed_in=signed_in)
    outcome = "dismissed" if decision == "dismiss" else "upheld"
    return redirect_to(f"/staff/reports?done={outcome}")
