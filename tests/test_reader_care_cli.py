"""The reader-protecting commands: comments note, comments withdraw, comments reject --reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DOCS_DIR, TEST_SECRET
from staff_support import add_comment, get_comment

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import AuditEntry, CommentStatus


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    for name, value in {
        "COMMENTS_SECRET_KEY": TEST_SECRET, "COMMENTS_VAR_DIR": str(tmp_path / "var"),
        "COMMENTS_DOCS_DIR": str(DOCS_DIR), "COMMENTS_SITE_URL": "http://testserver/",
    }.items():
        monkeypatch.setenv(name, value)
    db = Database(Settings())
    upgrade(db)
    yield db
    db.dispose()


def actions(database: Database, comment_id: int) -> list[tuple[str, str]]:
    with database.read() as session:
        return [(e.action, e.after) for e in session.query(AuditEntry)
                .filter_by(comment_id=comment_id).order_by(AuditEntry.id)]


def test_note_sets_and_clears_a_content_note(database: Database,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    comment_id = add_comment(database, status=CommentStatus.APPROVED)

    assert main(["comments", "note", str(comment_id), "mentions self-harm"]) == 0
    assert get_comment(database, comment_id).content_note == "mentions self-harm"
    assert main(["comments", "note", str(comment_id), ""]) == 0
    assert get_comment(database, comment_id).content_note == ""
    assert main(["comments", "note", str(comment_id), "y" * 81]) == 1
    assert "content_note: must be at most 80 characters" in capsys.readouterr().err
    assert [a for a, _ in actions(database, comment_id)] == ["content_note", "content_note"]


def test_withdraw_takes_a_comment_down_for_its_reader(database: Database) -> None:
    comment_id = add_comment(database, status=CommentStatus.APPROVED)

    assert main(["comments", "withdraw", str(comment_id)]) == 0

    assert get_comment(database, comment_id).status == CommentStatus.DELETED
    assert actions(database, comment_id) == [("withdraw", "deleted")]


def test_reject_records_the_chosen_reason(database: Database,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    comment_id = add_comment(database)

    with pytest.raises(SystemExit):
        main(["comments", "reject", str(comment_id), "--reason", "because"])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["comments", "reject", str(comment_id), "--reason", "off_topic"]) == 0

    assert actions(database, comment_id) == [("reject", "rejected: Not about the article")]
