"""The local spam classifier: it learns from staff decisions and sorts likely spam apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_support import OPEN, post, with_docs
from spam_support import add_fixture_comments, decide, decisions, staff_app
from staff_support import add_comment, fast_hashing, get_comment  # noqa: F401 - autouse

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import migrate_to, upgrade
from comments_service.store.models import Comment, CommentStatus, SpamTraining
from comments_service.verbs import privacy, spam_learning
from comments_service.verbs.audit import Actor

SPAMMY = "Buy cheap pills online, no prescription, fast delivery http://pills-cheap.example.net"
GOOD = "Thank you, this helped me talk to my therapist about feeling stuck in our sessions."


def trained(settings: Settings, tmp_path: Path, **overrides: object) -> Settings:
    return with_docs(settings, tmp_path, spam_min_decisions=5, rate_limit_count=100,
                     **overrides)


def test_staff_decisions_through_the_queue_change_what_the_model_has_learned(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        good = add_fixture_comments(database, "ham", 3)
        bad = add_fixture_comments(database, "spam", 2)
        decide(auth, "approve", good)
        decide(auth, "spam", bad[:1])
        decide(auth, "reject", bad[1:])
        learned = spam_learning.status(database)
        assert (learned.ham_docs, learned.spam_docs) == (3, 2)
        assert learned.features > 0

        # Changing one's mind moves the comment to the other side, not both.
        decide(auth, "spam", good[:1])
        learned = spam_learning.status(database)
        assert (learned.ham_docs, learned.spam_docs) == (2, 3)


def test_undo_of_a_decision_takes_back_what_it_taught(settings: Settings,
                                                      tmp_path: Path) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        [comment_id] = add_fixture_comments(database, "spam", 1)
        decide(auth, "spam", [comment_id])
        assert spam_learning.status(database).spam_docs == 1

        response = auth.post("/staff/undo", {"ids": str(comment_id), "back": "/staff/"})
        assert response.status_code == 303
        assert get_comment(database, comment_id).status.value == "pending"
        learned = spam_learning.status(database)
        assert (learned.spam_docs, learned.ham_docs) == (0, 0)


def test_the_classifier_stays_silent_until_it_has_enough_decisions(
    settings: Settings, tmp_path: Path
) -> None:
    # The default asks for 30 of each; 10 and 10 are not enough.
    with staff_app(with_docs(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        decide(auth, "approve", add_fixture_comments(database, "ham", 10))
        decide(auth, "spam", add_fixture_comments(database, "spam", 10))
        response = post(client, body=SPAMMY, email="new.one@example.org")
        assert response.status_code == 202
        stored = get_comment(database, response.json()["id"])
        assert stored.spam_score is None
        queue = client.get("/staff/?status=pending").text
        assert f"Comment #{stored.id} by" in queue
        assert "likely spam:" not in queue
        assert "Likely spam (0)" in queue


def test_likely_spam_waits_in_its_own_tab_with_the_reasons(settings: Settings,
                                                          tmp_path: Path) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        decide(auth, "approve", add_fixture_comments(database, "ham", 30))
        decide(auth, "spam", add_fixture_comments(database, "spam", 30))

        spammy = post(client, body=SPAMMY, author="Cheap Meds",
                      email="pills@example.net").json()["id"]
        good = post(client, body=GOOD, email="kind.reader@example.org").json()["id"]
        assert get_comment(database, spammy).spam_score >= 0.9
        assert get_comment(database, good).spam_score < 0.5
        # Never marked or deleted by the classifier: still pending, for a person to decide.
        assert get_comment(database, spammy).status.value == "pending"

        likely = client.get("/staff/?status=likely_spam").text
        assert f"Comment #{spammy} by" in likely
        assert f"Comment #{good} by" not in likely
        assert "likely spam: " in likely and "because: " in likely
        assert "&#39;cheap&#39;" in likely or "'cheap'" in likely
        pending = client.get("/staff/?status=pending").text
        assert f"Comment #{good} by" in pending
        assert f"Comment #{spammy} by" not in pending
        assert "Likely spam (1)" in pending
        assert "likely spam: " in client.get(f"/staff/comments/{spammy}").text


def test_an_urgent_comment_never_leaves_the_pending_tab(settings: Settings,
                                                         tmp_path: Path) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        decide(auth, "approve", add_fixture_comments(database, "ham", 20))
        decide(auth, "spam", add_fixture_comments(database, "spam", 20))
        body = f"{SPAMMY} I want to end my life."
        comment_id = post(client, body=body, email="hurting@example.org").json()["id"]
        assert get_comment(database, comment_id).urgent
        assert f"Comment #{comment_id} by" in client.get("/staff/?status=pending").text
        assert f"Comment #{comment_id} by" not in client.get(
            "/staff/?status=likely_spam").text


def test_rescoring_scores_comments_that_came_in_while_it_was_silent(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        waiting = add_comment(database, body=SPAMMY, author="Cheap Meds",
                              email="early@example.net", article_id=OPEN)
        assert get_comment(database, waiting).spam_score is None
        decide(auth, "approve", add_fixture_comments(database, "ham", 25))
        decide(auth, "spam", add_fixture_comments(database, "spam", 25))

        response = auth.post("/staff/spam/rescore")
        assert response.status_code == 303
        assert get_comment(database, waiting).spam_score >= 0.9
        page = client.get(response.headers["location"]).text
        assert "Rescored" in page and f"Comment #{waiting} by" in page


def test_staff_replies_teach_nothing_and_nothing_is_scored_for_them(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        [parent] = add_fixture_comments(database, "ham", 1)
        response = auth.post(f"/staff/comments/{parent}/reply", {"body": "Thank you."})
        assert response.status_code == 303
        # The parent was approved with the reply (one lesson); the reply itself taught none.
        learned = spam_learning.status(database)
        assert (learned.ham_docs, learned.spam_docs) == (1, 0)


@pytest.mark.postgres
def test_learning_and_scoring_work_on_postgresql(pg_database_url: str, tmp_path: Path,
                                                 settings: Settings) -> None:
    pg = settings.model_copy(update={"database_url": pg_database_url})
    with staff_app(trained(pg, tmp_path)) as (client, auth):
        database = client.app.state.database
        decide(auth, "approve", add_fixture_comments(database, "ham", 12))
        decide(auth, "spam", add_fixture_comments(database, "spam", 12))
        assert spam_learning.status(database).spam_docs == 12
        comment_id = post(client, body=SPAMMY, email="pg.pills@example.net").json()["id"]
        assert get_comment(database, comment_id).spam_score >= 0.9


def test_the_fixture_has_enough_of_both_kinds_for_the_default_threshold() -> None:
    assert len(decisions("ham")) >= 30 and len(decisions("spam")) >= 30


def test_decisions_from_the_command_line_count_and_status_reports_them(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMMENTS_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("COMMENTS_DOCS_DIR", str(settings.docs_dir))
    database = Database(settings)
    upgrade(database)
    ids = add_fixture_comments(database, "spam", 2)
    assert main(["comments", "spam", *map(str, ids)]) == 0
    assert spam_learning.status(database).spam_docs == 2
    capsys.readouterr()
    assert main(["spam", "status"]) == 0
    assert "learned from 2 spam or rejected and 0 approved" in capsys.readouterr().out
    assert main(["spam", "rescore"]) == 0
    database.dispose()


def test_erasing_a_readers_data_also_erases_what_the_classifier_kept_of_it(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        [comment_id] = add_fixture_comments(database, "ham", 1)
        decide(auth, "approve", [comment_id])
        with database.read() as session:
            assert session.get(SpamTraining, comment_id) is not None
        privacy.erase_by_email(database, client.app.state.keyring, "ham.0@example.org",
                               Actor.operator("test"), keep_text=True)
        with database.read() as session:
            assert session.get(SpamTraining, comment_id) is None
        assert spam_learning.status(database).ham_docs == 0


def test_the_migration_keeps_existing_comments_both_ways(database: Database) -> None:
    [kept] = add_fixture_comments(database, "ham", 1)
    with database.write() as session:
        record = session.get(Comment, kept)
        record.status = CommentStatus.APPROVED
        spam_learning.record_decision(session, record, CommentStatus.APPROVED)
    assert migrate_to(database, "0008") == ("0008",)
    assert migrate_to(database, "heads")
    comment = get_comment(database, kept)
    assert comment.body == decisions("ham")[0]["body"]
    assert comment.spam_score is None and comment.screening_note == ""
    # The upgrade relearns every decision already taken, so the model is as it was.
    assert spam_learning.status(database).ham_docs == 1


def test_a_redacting_edit_leaves_nothing_of_the_old_words_in_the_lesson(
    settings: Settings, tmp_path: Path
) -> None:
    with staff_app(trained(settings, tmp_path)) as (client, auth):
        database = client.app.state.database
        comment_id = add_comment(database, body="My therapist Dr Quillfeather at Elm Clinic "
                                 "helped me.", article_id=OPEN)
        decide(auth, "approve", [comment_id])
        response = auth.post(f"/staff/comments/{comment_id}/edit",
                             {"body": "My therapist [name removed] helped me."})
        assert response.status_code == 303
        with database.read() as session:
            lesson = session.get(SpamTraining, comment_id).features
            counts = spam_learning.snapshot(database, session).counts
        assert "quillfeather" not in lesson and "w:removed" in lesson
        assert "w:quillfeather" not in counts and "w:removed" in counts
        assert spam_learning.status(database).ham_docs == 1
