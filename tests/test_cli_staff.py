"""The staff, comments, privacy and notify commands of comments-service."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DOCS_DIR, TEST_SECRET
from staff_support import (
    PASSWORD,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    keyring_for,
)

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import AuditEntry, CommentStatus
from comments_service.store.thread_versions import thread_version
from comments_service.verbs import accounts, public_threads

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "COMMENTS_SECRET_KEY": TEST_SECRET,
        "COMMENTS_VAR_DIR": str(tmp_path / "var"),
        "COMMENTS_DOCS_DIR": str(DOCS_DIR),
        "COMMENTS_SITE_URL": "http://testserver/",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def database(env: dict[str, str]) -> Iterator[Database]:
    db = Database(Settings())
    upgrade(db)
    yield db
    db.dispose()


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def add_mod(monkeypatch: pytest.MonkeyPatch, username: str = "mod") -> None:
    code = run(["staff", "add", username, "--display-name", "Sam from the team",
                "--signature", "Sam, for the team", "--role", "moderator"], monkeypatch,
               stdin=PASSWORD + "\n")
    assert code == 0


def test_staff_add_reads_the_password_from_piped_stdin(database: Database,
                                                       env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(REPO / ".venv/bin/comments-service"), "staff", "add", "alex", "--display-name",
         "Alex Editor", "--role", "admin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env={**os.environ, **env},
        timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    user = accounts.sign_in(database, keyring_for(database), "alex", PASSWORD, "192.0.2.1").user
    assert user.role.value == "admin" and user.display_name == "Alex Editor"


def test_password_is_never_taken_from_argv(database: Database,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as raised:
        run(["staff", "add", "mod", "--display-name", "Sam", "--password", PASSWORD],
            monkeypatch)
    assert raised.value.code == 2
    assert accounts.list_staff(database) == []


def test_short_password_is_refused_naming_the_field(database: Database,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["staff", "add", "mod", "--display-name", "Sam"], monkeypatch, stdin="short\n")
    assert code == 1
    assert "password: must be at least" in capsys.readouterr().err
    assert accounts.list_staff(database) == []


def test_staff_list_disable_and_set_password(database: Database,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    add_mod(monkeypatch)
    capsys.readouterr()
    assert run(["staff", "list"], monkeypatch) == 0
    assert capsys.readouterr().out.split("\t")[:3] == ["mod", "moderator", "active"]

    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    assert run(["staff", "disable", "mod"], monkeypatch) == 0
    assert accounts.session_for(database, signed_in.token) is None
    assert run(["staff", "list"], monkeypatch) == 0
    assert "\tdisabled\t" in capsys.readouterr().out

    assert run(["staff", "enable", "mod"], monkeypatch) == 0
    assert run(["staff", "set-password", "mod"], monkeypatch,
               stdin="another long password\n") == 0
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    assert accounts.sign_in(database, keyring_for(database), "mod", "another long password",
                        "192.0.2.1")


def test_unknown_account_is_an_error(database: Database, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["staff", "disable", "ghost"], monkeypatch) == 1
    assert "no staff account named 'ghost'" in capsys.readouterr().err


def test_comments_list_shows_pending_urgent_first(database: Database,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plain = add_comment(database, body="Plain one.")
    urgent = add_comment(database, body="Urgent one.", urgent=True)
    add_comment(database, body="Published one.", status=CommentStatus.APPROVED)
    assert run(["comments", "list", "--status", "pending"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.index(f"#{urgent} pending URGENT") < out.index(f"#{plain} pending")
    assert "Published one." not in out
    assert "reader.one@example.org" in out
    assert "2 comment(s)" in out


@pytest.mark.parametrize(("action", "status"), [
    ("approve", CommentStatus.APPROVED), ("reject", CommentStatus.REJECTED),
    ("spam", CommentStatus.SPAM), ("delete", CommentStatus.DELETED),
])
def test_comment_actions_change_status_and_are_audited(
    database: Database, monkeypatch: pytest.MonkeyPatch, action: str, status: CommentStatus,
) -> None:
    first, second = add_comment(database), add_comment(database, body="Second.")
    assert run(["comments", action, str(first), str(second)], monkeypatch) == 0
    assert {get_comment(database, i).status for i in (first, second)} == {status}
    with database.read() as session:
        entry = session.query(AuditEntry).filter_by(comment_id=first).one()
    assert entry.action == action and entry.actor.startswith("cli:")


def test_action_on_an_unknown_comment_fails_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    known = add_comment(database)
    assert run(["comments", "approve", str(known), "999"], monkeypatch) == 1
    assert "no comment with id 999" in capsys.readouterr().err
    assert get_comment(database, known).status == CommentStatus.PENDING


def test_reply_as_staff_reads_the_body_from_stdin(database: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    add_mod(monkeypatch)
    parent = add_comment(database, body="Is anyone there?")
    assert run(["comments", "reply", str(parent), "--as", "mod"], monkeypatch,
               stdin="Yes, we read every comment.\n") == 0
    with database.read() as session:
        shown = public_threads.list_public(session, "therapeutic-impasse")
    assert [(c["author"], c["staff"], c["signature"]) for c in shown] == [
        ("Reader One", False, None), ("Sam from the team", True, "Sam, for the team")]
    assert shown[1]["body_html"] == "<p>Yes, we read every comment.</p>"


def test_reply_as_an_unknown_account_is_refused(database: Database,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    parent = add_comment(database)
    assert run(["comments", "reply", str(parent), "--as", "ghost", "--body", "Hi"],
               monkeypatch) == 1
    assert get_comment(database, parent).status == CommentStatus.PENDING


def test_privacy_export_and_erase(database: Database, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    comment_id = add_comment(database, email="eve@example.org", status=CommentStatus.APPROVED)
    assert run(["privacy", "export", "eve@example.org"], monkeypatch) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["comments"][0]["id"] == comment_id
    assert run(["privacy", "erase", "eve@example.org", "--keep-text"], monkeypatch) == 0
    assert get_comment(database, comment_id).erased
    with pytest.raises(SystemExit):
        run(["privacy", "erase", "eve@example.org"], monkeypatch)  # a choice is required


def test_privacy_purge_ips_and_notify_run_once(database: Database,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    add_comment(database)
    assert run(["privacy", "purge-ips"], monkeypatch) == 0
    assert "purged 0 IP hash(es)" in capsys.readouterr().out
    assert run(["notify", "run-once"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "COMMENTS_SMTP_HOST is not set" in out and "1 new comment(s) handled" in out


def test_staff_update_changes_the_signature_on_published_replies(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    add_mod(monkeypatch)
    parent = add_comment(database, body="Is anyone there?")
    assert run(["comments", "reply", str(parent), "--as", "mod", "--body", "Yes."],
               monkeypatch) == 0
    with database.read() as session:
        before = thread_version(session, "therapeutic-impasse")
    assert run(["staff", "update", "mod", "--display-name", "Sam Okafor",
                "--signature", "Sam, on behalf of the team"], monkeypatch) == 0
    with database.read() as session:
        shown = public_threads.list_public(session, "therapeutic-impasse")
        # A new version is what tells every process's cache and the baker to refresh.
        assert thread_version(session, "therapeutic-impasse") > before
    assert (shown[1]["author"], shown[1]["signature"]) == (
        "Sam Okafor", "Sam, on behalf of the team")
