"""The team dashboard (admins): how much comes in, how long it waits, how fast urgent
comments get a first response."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from comments_service.i18n import N_
from comments_service.store.models import utcnow
from comments_service.verbs import team_stats
from comments_service.web.staff import charts
from comments_service.web.staff.common import (
    current_staff,
    database_of,
    forbidden_page,
    render_page,
    router,
    sign_in_redirect,
)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """The figures a team lead watches, each chart with its data table."""
    signed_in = current_staff(request)
    if signed_in is None:
        return sign_in_redirect(request)
    if not signed_in.is_admin:
        return forbidden_page(request, signed_in, N_("Only admins can see the dashboard."))
    database = database_of(request)
    now = utcnow()
    days = team_stats.comments_per_day(database, now)
    weeks = team_stats.urgent_response(database, now)
    return render_page(request, "staff/dashboard.html", {
        "title": N_("Team dashboard"), "days": days, "weeks": weeks,
        "day_chart": charts.per_day_chart(days), "urgent_chart": charts.urgent_chart(weeks),
        "oldest": team_stats.oldest_pending(database, now),
        "reports": team_stats.open_reports(database),
        "statuses": team_stats.STATUSES, "duration": team_stats.describe_duration,
        "month_date": charts.month_date,
    }, signed_in=signed_in)
