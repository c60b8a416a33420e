"""A commenter's data: export and erasure by email address, IP hash expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from staff_support import (
    ARTICLE,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    keyring_for,
    make_staff,
)

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import (
    AuditEntry,
    CommentStatus,
    EmailSubscriber,
    OutboxMail,
    utcnow,
)
from comments_service.verbs import privacy, public_threads
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.verbs.notifications import Notifier

ADMIN = Actor.operator("test")
EVE = "eve@example.org"




def public(database: Database) -> list[dict[str, object]]:
    with database.read() as session:
        return public_threads.list_public(session, ARTICLE)


def test_export_gathers_every_comment_and_earlier_text(database: Database) -> None:
    keyring = keyring_for(database)
    first = add_comment(database, body="First words.", author="Eve", email=EVE,
                        status=CommentStatus.APPROVED)
    add_comment(database, body="Second words.", author="Eve", email="EVE@example.org ")
    add_comment(database, body="Somebody else.", email="other@example.org")
    Moderation(database, keyring).edit(first, "First [removed].", ADMIN)
    data = privacy.export_by_email(database, keyring, "Eve@Example.org", ADMIN)
    assert [c["body"] for c in data["comments"]] == ["First [removed].", "Second words."]
    assert {c["email"] for c in data["comments"]} == {EVE, "EVE@example.org "}
    assert data["text_before_edits"][0]["before"] == "First words."
    assert data["mail_subscription"] is None


def test_erase_keeping_text_shows_former_reader_and_leaves_no_personal_data(
    backend_database: Database,
) -> None:
    database = backend_database
    keyring = keyring_for(database)
    kept = add_comment(database, body="I am Eve from Exampletown.", author="Eve Example",
                       email=EVE, status=CommentStatus.APPROVED, notify=True)
    Moderation(database, keyring).edit(kept, "I am [removed].", ADMIN)
    other = add_comment(database, body="Not Eve.", email="other@example.org",
                        status=CommentStatus.APPROVED)
    with database.write() as session:
        session.add(EmailSubscriber(email_hash=keyring.email_hash(EVE), confirmed=True))
        notifier = Notifier(database.settings.model_copy(update={"smtp_host": "localhost"}),
                            keyring)
        notifier.comment_approved(session, get_comment(database, kept))
        session.add(OutboxMail(kind="other", recipient_encrypted=keyring.encrypt_email(
            "other@example.org"), subject="s", body="b",
            unsubscribe_url=notifier.unsubscribe_link(keyring.email_hash("other@example.org"))))

    report = privacy.erase_by_email(database, keyring, EVE, ADMIN, keep_text=True)

    assert report.comments == 1 and not report.text_removed
    comment = get_comment(database, kept)
    assert (comment.author_name, comment.email_encrypted, comment.email_hash,
            comment.ip_hash, comment.erased) == ("Former reader", "", "", None, True)
    assert [(c["author"], c["body_html"]) for c in public(database)] == [
        ("Former reader", "<p>I am [removed].</p>"), ("Reader One", "<p>Not Eve.</p>")]
    with database.read() as session:
        edit = session.scalar(select(AuditEntry).where(AuditEntry.comment_id == kept,
                                                       AuditEntry.action == "edit"))
        assert edit.before == "[erased]"
        assert session.get(EmailSubscriber, keyring.email_hash(EVE)) is None
        assert [m.kind for m in session.scalars(select(OutboxMail))] == ["other"]
        assert thread_versions.thread_version(session, ARTICLE) >= 1
    assert get_comment(database, other).email_hash == keyring.email_hash("other@example.org")


def test_erase_removing_text_takes_the_comments_down(database: Database) -> None:
    keyring = keyring_for(database)
    gone = add_comment(database, body="Too personal.", email=EVE, status=CommentStatus.APPROVED)
    report = privacy.erase_by_email(database, keyring, EVE, ADMIN, keep_text=False)
    assert report.text_removed and report.articles == (ARTICLE,)
    comment = get_comment(database, gone)
    assert comment.body == "" and comment.body_html == ""
    assert comment.status == CommentStatus.DELETED
    assert public(database) == []
    with database.read() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert (entry.before, entry.after, entry.actor) == ("approved", "text removed",
                                                           "cli:test")


def test_reply_to_an_erased_comment_stays_visible(database: Database) -> None:
    keyring = keyring_for(database)
    parent = add_comment(database, email=EVE, status=CommentStatus.APPROVED)
    add_comment(database, parent_id=parent, body="A reply.", email="other@example.org",
                status=CommentStatus.APPROVED)
    privacy.erase_by_email(database, keyring, EVE, ADMIN, keep_text=False)
    assert [c["body_html"] for c in public(database)] == ["<p>A reply.</p>"]


def test_erase_for_an_unknown_address_changes_nothing(database: Database) -> None:
    keyring = keyring_for(database)
    comment_id = add_comment(database)
    report = privacy.erase_by_email(database, keyring, "nobody@example.org", ADMIN,
                                    keep_text=False)
    assert report.comments == 0
    assert not get_comment(database, comment_id).erased


@pytest.mark.parametrize("bad", ["not-an-address", "", "a b@example.org"])
def test_bad_email_is_refused_naming_the_field(database: Database, bad: str) -> None:
    with pytest.raises(privacy.ErasureError) as raised:
        privacy.erase_by_email(database, keyring_for(database), bad, ADMIN, keep_text=True)
    assert raised.value.field == "email"


def test_moderators_cannot_export_or_erase(database: Database) -> None:
    moderator = Actor.staff(make_staff(database))
    add_comment(database, email=EVE)
    with pytest.raises(PermissionError):
        privacy.export_by_email(database, keyring_for(database), EVE, moderator)
    with pytest.raises(PermissionError):
        privacy.erase_by_email(database, keyring_for(database), EVE, moderator, keep_text=True)


def test_ip_hashes_older_than_the_retention_are_purged(backend_database: Database) -> None:
    database = backend_database
    days = database.settings.ip_hash_retention_days
    old = add_comment(database, created_at=utcnow() - timedelta(days=days, hours=1))
    recent = add_comment(database, created_at=utcnow() - timedelta(days=days - 1))
    assert privacy.purge_ip_hashes(database) == 1
    assert get_comment(database, old).ip_hash is None
    assert get_comment(database, recent).ip_hash is not None
    assert get_comment(database, old).body  # only the hash goes
