"""The admins' team dashboard over real HTTP, on SQLite and PostgreSQL: comments per day by
status, the oldest wait, open reports, and time to the first staff action on urgent comments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_staff,
)

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import AuditEntry, Comment, CommentStatus, StaffUser, utcnow
from comments_service.verbs import team_stats
from comments_service.web.app import create_app


@pytest.fixture
def app(backend_settings: Settings) -> FastAPI:
    return create_app(backend_settings.model_copy(update={"notify_interval_seconds": 0}))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> AuthActions:
    make_staff(app.state.database, "boss", role="admin", display_name="Alex Editor")
    make_staff(app.state.database, "mod")
    auth = AuthActions(client)
    auth.sign_in("boss")
    return auth


def first_action(database: Database, comment_id: int, at: datetime,
                 username: str = "boss") -> None:
    """A staff member's first action on the comment, at the given moment."""
    with database.write() as session:
        user = session.query(StaffUser).filter_by(username=username).one()
        session.add(AuditEntry(comment_id=comment_id, staff_user_id=user.id, actor=username,
                               action="approve", before="pending", after="approved",
                               created_at=at))
        session.get(Comment, comment_id).status = CommentStatus.APPROVED


def rows_of(soup: BeautifulSoup, table_id: str) -> list[list[str]]:
    return [[cell.get_text(strip=True) for cell in row.select("th, td")]
            for row in soup.select(f"#{table_id} tbody tr")]


def test_urgent_comments_show_median_and_worst_time_to_first_staff_action(
    app: FastAPI, admin: AuthActions,
) -> None:
    database = app.state.database
    now = utcnow()
    this_monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    posted = this_monday - timedelta(days=7) + timedelta(hours=10)  # last week, Monday 10:00
    for minutes in (20, 40, 180):
        comment_id = add_comment(database, urgent=True, created_at=posted,
                                 body=f"Urgent after {minutes}.")
        first_action(database, comment_id, posted + timedelta(minutes=minutes))
    # A reader's own withdrawal is not the team responding; nor is a later second action.
    # Two hours ago, or at the start of this week if that was sooner (early on a Monday).
    waiting_since = max(now - timedelta(hours=2), this_monday)
    waiting = add_comment(database, urgent=True, created_at=waiting_since, body="Nobody yet.")
    with database.write() as session:
        session.add(AuditEntry(comment_id=waiting, actor="reader", action="withdraw",
                               before="pending", after="deleted", created_at=now))
    add_comment(database, body="Not urgent, ignored.", created_at=posted)

    soup = BeautifulSoup(admin.client.get("/staff/dashboard").text, "html.parser")
    rows = rows_of(soup, "urgent-table")
    assert len(rows) == team_stats.WEEKS
    last_week, this_week = rows[-2], rows[-1]
    assert last_week[1:] == ["3", "40 min", "3 h", "0"]
    assert this_week[1] == "1" and this_week[4] == "1"
    # Still waiting: it counts with its wait so far.
    assert this_week[3] == team_stats.describe_duration(utcnow() - waiting_since) or \
        this_week[3] == team_stats.describe_duration(now - waiting_since)
    assert rows[0][1:] == ["0", "none", "none", "0"]


def test_comments_per_day_by_status_and_the_oldest_wait(
    app: FastAPI, admin: AuthActions,
) -> None:
    database = app.state.database
    now = utcnow()
    add_comment(database, created_at=now - timedelta(days=3, hours=5), body="Old waiting.")
    add_comment(database, created_at=now, status=CommentStatus.APPROVED, body="Today A.")
    add_comment(database, created_at=now, status=CommentStatus.SPAM, body="Today B.")
    add_comment(database, created_at=now - timedelta(days=40), body="Outside the 30 days.",
                status=CommentStatus.REJECTED)
    soup = BeautifulSoup(admin.client.get("/staff/dashboard").text, "html.parser")
    rows = rows_of(soup, "daily-table")
    assert len(rows) == team_stats.DAYS
    header = [th.get_text(strip=True) for th in soup.select("#daily-table thead th")]
    assert header == ["Day", "Pending", "Approved", "Rejected", "Spam", "Deleted", "Total"]
    today = rows[0]  # newest first in the table
    assert today[0] == f"{now.day} {now:%b %Y}"
    assert today[1:] == ["0", "1", "0", "1", "0", "2"]
    assert sum(int(r[-1]) for r in rows) == 3
    oldest = soup.select_one("#oldest-pending").get_text()
    assert oldest.startswith("3 d")
    assert soup.select_one("#open-reports").get_text() == "0"


def test_charts_are_server_drawn_svg_with_a_text_alternative_and_no_script(
    app: FastAPI, admin: AuthActions,
) -> None:
    add_comment(app.state.database, status=CommentStatus.APPROVED)
    response = admin.client.get("/staff/dashboard")
    soup = BeautifulSoup(response.text, "html.parser")
    charts = soup.select("svg[role=img]")
    assert len(charts) == 2
    for chart in charts:
        title = soup.find(id=chart["aria-labelledby"])
        assert title is not None and "table" in title.get_text()
    assert soup.select("svg rect.swatch-approved")
    assert soup.select("script") == []


def test_moderators_cannot_see_the_dashboard(app: FastAPI, admin: AuthActions) -> None:
    admin.sign_out()
    admin.sign_in("mod")
    response = admin.client.get("/staff/dashboard")
    assert response.status_code == 403
    assert "Only admins" in response.text


def test_each_figure_is_one_query(app: FastAPI, admin: AuthActions) -> None:
    from sqlalchemy import event
    database = app.state.database
    for n in range(20):
        add_comment(database, urgent=n % 2 == 0, body=f"Comment {n}.")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        team_stats.comments_per_day(database)
        team_stats.urgent_response(database)
        team_stats.oldest_pending(database)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len(statements) == 3
