"""Times on staff pages, in each staff member's own time zone: one format everywhere, set on
"Your account" or with `staff update --time-zone`, defaulting to the team's staffed zone."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from bs4 import BeautifulSoup
from conftest import DOCS_DIR, TEST_SECRET, make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_staff,
)

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config, upgrade
from comments_service.store.models import StaffUser
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app

# 14:30 UTC on a winter day: 15:30 in Madrid (CET), 09:30 in New York (EST).
POSTED = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def make_app(tmp_path: Path, **overrides: object) -> FastAPI:
    return create_app(make_settings(tmp_path, notify_interval_seconds=0, **overrides))


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return make_app(tmp_path)


@pytest.fixture
def staff(app: FastAPI) -> Iterator[AuthActions]:
    make_staff(app.state.database, "mod")
    with TestClient(app, follow_redirects=False) as client:
        auth = AuthActions(client)
        auth.sign_in()
        yield auth


def shown_times(staff: AuthActions, path: str) -> list[str]:
    soup = BeautifulSoup(staff.client.get(path).text, "html.parser")
    return [t.get_text() for t in soup.select("main time")]


def test_times_default_to_utc_in_one_format_on_queue_comment_and_audit_pages(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, created_at=POSTED)
    assert shown_times(staff, "/staff/") == ["20 Nov 2026, 14:30 UTC"]
    assert shown_times(staff, f"/staff/comments/{comment_id}") == ["20 Nov 2026, 14:30 UTC"]
    Moderation(app.state.database, app.state.keyring).approve(comment_id,
                                                              Actor.operator("test"))
    audit_times = shown_times(staff, "/staff/audit")
    assert len(audit_times) == 1 and audit_times[0].endswith(" UTC")


def test_the_team_zone_is_the_default_when_the_operator_set_one(tmp_path: Path) -> None:
    app = make_app(tmp_path, staffed_timezone="America/New_York")
    make_staff(app.state.database, "mod")
    add_comment(app.state.database, created_at=POSTED)
    with TestClient(app, follow_redirects=False) as client:
        auth = AuthActions(client)
        auth.sign_in()
        assert shown_times(auth, "/staff/") == ["20 Nov 2026, 09:30 EST"]


def test_your_account_sets_the_zone_the_pages_use(app: FastAPI, staff: AuthActions) -> None:
    add_comment(app.state.database, created_at=POSTED)
    response = staff.post("/staff/account", {"time_zone": "Europe/Madrid"})
    assert response.status_code == 303
    page = BeautifulSoup(staff.client.get(response.headers["location"]).text, "html.parser")
    assert page.select_one(".notice").get_text() == "Your account settings are saved."
    assert page.select_one("#time_zone")["value"] == "Europe/Madrid"
    assert shown_times(staff, "/staff/") == ["20 Nov 2026, 15:30 CET"]
    # The machine-readable time stays UTC whatever the reader's zone.
    soup = BeautifulSoup(staff.client.get("/staff/").text, "html.parser")
    assert soup.select_one("main time")["datetime"] == "2026-11-20T14:30:00Z"


def test_an_unknown_zone_is_refused_naming_the_field_and_keeps_the_old_one(
    app: FastAPI, staff: AuthActions,
) -> None:
    staff.post("/staff/account", {"time_zone": "Europe/Madrid"})
    response = staff.post("/staff/account", {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.select_one("#error-summary").get_text(strip=True).startswith("Time zone:")
    assert soup.select_one("#time_zone")["aria-invalid"] == "true"
    with app.state.database.read() as session:
        assert session.query(StaffUser).filter_by(username="mod").one().time_zone == \
            "Europe/Madrid"


def test_staff_update_sets_and_clears_the_time_zone_from_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {"COMMENTS_SECRET_KEY": TEST_SECRET,
                        "COMMENTS_VAR_DIR": str(tmp_path / "var"),
                        "COMMENTS_DOCS_DIR": str(DOCS_DIR)}.items():
        monkeypatch.setenv(name, value)
    database = Database(Settings())
    try:
        upgrade(database)
        make_staff(database, "mod")
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        assert main(["staff", "update", "mod", "--time-zone", "Europe/Madrid"]) == 0
        assert "Europe/Madrid" in capsys.readouterr().out
        assert zone_of(database, "mod") == "Europe/Madrid"
        assert main(["staff", "update", "mod", "--time-zone", "Nowhere/Special"]) == 1
        assert "time_zone: 'Nowhere/Special' is not a known IANA time zone" in \
            capsys.readouterr().err
        assert zone_of(database, "mod") == "Europe/Madrid"
        assert main(["staff", "update", "mod", "--time-zone", ""]) == 0
        assert zone_of(database, "mod") == ""
    finally:
        database.dispose()


def zone_of(database: Database, username: str) -> str:
    with database.read() as session:
        return session.query(StaffUser).filter_by(username=username).one().time_zone


def test_migration_0009_keeps_accounts_and_downgrades(settings: Settings) -> None:
    database = Database(settings)
    try:
        upgrade(database)
        make_staff(database, "mod")
        config = alembic_config(database)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
            columns = {c["name"] for c in inspect(connection).get_columns("staff_users")}
            assert "time_zone" not in columns
        upgrade(database)
        assert zone_of(database, "mod") == ""
    finally:
        database.dispose()
