"""Staff pages and commands given ids and page numbers no row can have: 404 or a named
error, never a 500 or a traceback, and nothing changed. On SQLite and PostgreSQL, whose
INTEGER ends at 2**31 - 1."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from staff_support import (
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.models import CommentStatus
from comments_service.web.app import create_app

HUGE_IDS = ["2147483648", "9223372036854775808", "9" * 30, "-1", "0"]


@pytest.fixture
def app_settings(backend_settings: Settings, tmp_path: Path) -> Settings:
    return backend_settings.model_copy(update={"notify_interval_seconds": 0})


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), follow_redirects=False,
                    raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> AuthActions:
    database = client.app.state.database  # type: ignore[attr-defined]
    make_staff(database, "boss", role="admin", display_name="Alex Editor",
               signature="Alex, editor")
    actions = AuthActions(client)
    assert actions.sign_in("boss").status_code == 303
    return actions


def test_comment_pages_for_impossible_ids_are_404(admin: AuthActions) -> None:
    for comment_id in HUGE_IDS:
        page = admin.client.get(f"/staff/comments/{comment_id}")
        assert page.status_code == 404, comment_id
        assert "There is no comment" in page.text


def test_comment_page_for_text_is_422_naming_the_id(admin: AuthActions) -> None:
    response = admin.client.get("/staff/comments/twelve")

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"comment_id"}


def test_edit_reply_and_actions_on_impossible_ids_are_404_and_change_nothing(
    admin: AuthActions,
) -> None:
    database = admin.client.app.state.database  # type: ignore[attr-defined]
    real = add_comment(database, body="A pending comment.")
    for comment_id in HUGE_IDS:
        edit = admin.post(f"/staff/comments/{comment_id}/edit", {"body": "Redacted."})
        reply = admin.post(f"/staff/comments/{comment_id}/reply", {"body": "Thank you."})
        single = admin.post("/staff/actions", {"action": f"approve:{comment_id}"})
        bulk = admin.post("/staff/actions", {"action": "approve",
                                             "ids": [str(real), comment_id]})

        assert [edit.status_code, reply.status_code, single.status_code,
                bulk.status_code] == [404, 404, 404, 404], comment_id
    assert get_comment(database, real).status == CommentStatus.PENDING


def test_templates_with_impossible_ids_are_404(admin: AuthActions) -> None:
    for template_id in HUGE_IDS[:3]:
        save = admin.post("/staff/templates", {"id": template_id, "name": "Welcome back",
                                               "body": "Thanks for writing again."})
        delete = admin.post(f"/staff/templates/{template_id}/delete")

        assert (save.status_code, delete.status_code) == (404, 404), template_id


def test_impossible_page_numbers_show_an_error_or_an_empty_page(admin: AuthActions) -> None:
    for number in ["0", "-3", "2147483648", "9" * 30]:
        queue = admin.client.get("/staff/", params={"page": number})
        audit = admin.client.get("/staff/audit", params={"page": number, "comment": number})

        # The queue says which filter is wrong and lists page 1, as for a bad status.
        assert queue.status_code == 200, number
        assert "page: must be a whole number from 1 to" in queue.text, number
        assert audit.status_code == 200, number
        assert "Audit log" in audit.text


# The command line ---------------------------------------------------------------------


@pytest.fixture
def cli_env(app_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    monkeypatch.setenv("COMMENTS_SECRET_KEY", app_settings.secret().decode())
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(app_settings.var_dir))
    monkeypatch.setenv("COMMENTS_DOCS_DIR", str(app_settings.docs_dir))
    monkeypatch.setenv("COMMENTS_DATABASE_URL", app_settings.resolved_database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return app_settings


@pytest.mark.parametrize("argv", [
    ["comments", "approve", "2147483648"],
    ["comments", "reject", "1", "9223372036854775808"],
    ["comments", "reply", "0", "--as", "boss", "--body", "Hello."],
    ["comments", "spam", "-5"],
    ["comments", "list", "--page", "0"],
    ["comments", "list", "--page", "99999999999999999999999"],
])
def test_cli_refuses_impossible_ids_naming_the_argument(
    cli_env: Settings, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "argument" in error and "Traceback" not in error
    assert ("ID" in error) or ("--page" in error)


def test_cli_largest_id_is_a_plain_not_found(cli_env: Settings,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0

    status = main(["comments", "approve", "2147483647"])

    assert status == 1
    assert "no comment with id 2147483647" in capsys.readouterr().err



def test_every_staff_post_taking_an_id_answers_impossible_ids_without_a_500(
    admin: AuthActions,
) -> None:
    """Reader care, content notes, withdrawal and mail retry: whatever each screen says,
    an id past the range is never a server error (errors.py's net catches any that a
    verb forgets to check)."""
    for comment_id in ("2147483648", "9223372036854775808", "-1"):
        for action in ("private-reply", "content-note", "reject", "withdraw"):
            response = admin.post(f"/staff/comments/{comment_id}/{action}",
                                  {"body": "Hello.", "content_note": "Loss", "reason": ""})
            assert response.status_code < 500, (action, comment_id, response.text[:200])
    for mail_id in ("2147483648", "9223372036854775808", "\u00b2", "-1"):
        response = admin.post("/staff/mail/retry", {"mail_id": mail_id})
        assert response.status_code < 500, (mail_id, response.text[:200])


def test_notice_counts_that_are_not_plain_numbers_are_ignored(admin: AuthActions) -> None:
    for count in ("\u00b2", "\u0663", "9" * 5000, "-1"):
        page = admin.client.get("/staff/", params={"done": "approve", "n": count})
        assert page.status_code == 200, count
