"""Moderation verbs: queue order, status changes, audit entries, redaction, staff replies."""

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

from comments_service.articles.catalog import Catalog
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import (
    AuditEntry,
    BakeRequest,
    CommentStatus,
    ReplyTemplate,
    utcnow,
)
from comments_service.verbs import accounts, comments, public_threads
from comments_service.verbs.moderation import (
    Actor,
    Moderation,
    ModerationError,
    NotFound,
    QueueFilter,
)
from comments_service.verbs.reply_templates import CRISIS_TEMPLATE_NAME

OPERATOR = Actor.operator("test")


@pytest.fixture
def moderation(database: Database) -> Moderation:
    return Moderation(database, keyring_for(database), Catalog(database.settings.docs_dir))


@pytest.fixture
def any_backend(backend_database: Database) -> Moderation:
    """Moderation on SQLite and again on a fresh PostgreSQL database."""
    return Moderation(backend_database, keyring_for(backend_database))


def audit(database: Database, comment_id: int) -> list[tuple[str, str, str, str]]:
    with database.read() as session:
        return [(e.action, e.actor, e.before, e.after) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.comment_id == comment_id)
            .order_by(AuditEntry.id))]


def public_bodies(database: Database, article_id: str = ARTICLE) -> list[str]:
    with database.read() as session:
        return [c["body_html"] for c in public_threads.list_public(session, article_id)]


def test_pending_queue_is_urgent_first_then_oldest(moderation: Moderation) -> None:
    database = moderation.database
    now = utcnow()
    old = add_comment(database, created_at=now - timedelta(hours=3))
    new = add_comment(database, created_at=now - timedelta(hours=1))
    urgent_new = add_comment(database, urgent=True, created_at=now)
    urgent_old = add_comment(database, urgent=True, created_at=now - timedelta(hours=2))
    add_comment(database, status=CommentStatus.APPROVED)
    ids = [item.comment.id for item in moderation.queue(QueueFilter()).items]
    assert ids == [urgent_old, urgent_new, old, new]


def test_queue_items_carry_decrypted_email_parent_and_article(moderation: Moderation) -> None:
    database = moderation.database
    parent = add_comment(database, status=CommentStatus.APPROVED, body="Parent.")
    add_comment(database, parent_id=parent, email="child@example.org")
    (item,) = moderation.queue(QueueFilter()).items
    assert item.email == "child@example.org"
    assert item.parent is not None and item.parent.body == "Parent."
    assert item.article is not None and item.article.title == "Therapeutic Impasse"


def test_search_treats_wildcards_literally(moderation: Moderation) -> None:
    add_comment(moderation.database, body="One hundred percent sure.")
    add_comment(moderation.database, body="Fully 100% sure.")
    found = moderation.queue(QueueFilter(query="100%")).items
    assert [i.comment.body for i in found] == ["Fully 100% sure."]


def test_approve_publishes_bumps_the_thread_and_queues_a_rebake(any_backend: Moderation) -> None:
    database = any_backend.database
    comment_id = add_comment(database, body="Publish me.")
    assert any_backend.approve(comment_id, OPERATOR)
    assert public_bodies(database) == ["<p>Publish me.</p>"]
    with database.read() as session:
        assert thread_versions.thread_version(session, ARTICLE) == 1
        assert session.get(BakeRequest, ARTICLE) is not None
    assert audit(database, comment_id) == [("approve", "cli:test", "pending", "approved")]


@pytest.mark.parametrize("verb", ["reject", "mark_spam", "delete"])
def test_taking_down_an_approved_comment_hides_it_and_bumps_the_thread(
    moderation: Moderation, verb: str,
) -> None:
    database = moderation.database
    comment_id = add_comment(database, status=CommentStatus.APPROVED)
    assert getattr(moderation, verb)(comment_id, OPERATOR)
    assert public_bodies(database) == []
    with database.read() as session:
        assert thread_versions.thread_version(session, ARTICLE) == 1
    assert [a[0] for a in audit(database, comment_id)] == [
        {"reject": "reject", "mark_spam": "spam", "delete": "delete"}[verb]]


def test_rejecting_a_pending_comment_does_not_touch_the_public_thread(
    moderation: Moderation,
) -> None:
    comment_id = add_comment(moderation.database)
    assert moderation.reject(comment_id, OPERATOR)
    with moderation.database.read() as session:
        assert thread_versions.thread_version(session, ARTICLE) == 0


def test_repeating_an_action_changes_nothing_and_records_nothing(
    moderation: Moderation,
) -> None:
    comment_id = add_comment(moderation.database)
    assert moderation.approve(comment_id, OPERATOR)
    assert not moderation.approve(comment_id, OPERATOR)
    assert len(audit(moderation.database, comment_id)) == 1


def test_bulk_with_an_unknown_id_changes_nothing(any_backend: Moderation) -> None:
    database = any_backend.database
    known = add_comment(database)
    with pytest.raises(NotFound):
        any_backend.bulk("approve", [known, 9999], OPERATOR)
    assert get_comment(database, known).status == CommentStatus.PENDING
    assert audit(database, known) == []


def test_unknown_action_is_refused(moderation: Moderation) -> None:
    comment_id = add_comment(moderation.database)
    with pytest.raises(ModerationError) as raised:
        moderation.bulk("publish", [comment_id], OPERATOR)
    assert raised.value.field == "action"


def test_edit_rerenders_safely_and_audits_before_and_after(moderation: Moderation) -> None:
    database = moderation.database
    comment_id = add_comment(database, body="My name is Jo Bloggs.",
                             status=CommentStatus.APPROVED)
    assert moderation.edit(comment_id, "My name is [removed]. <b>x</b>", OPERATOR)
    comment = get_comment(database, comment_id)
    assert comment.body_html == "<p>My name is [removed]. &lt;b&gt;x&lt;/b&gt;</p>"
    assert audit(database, comment_id) == [
        ("edit", "cli:test", "My name is Jo Bloggs.", "My name is [removed]. <b>x</b>")]
    assert public_bodies(database) == [comment.body_html]


def test_staff_reply_is_approved_badged_and_approves_its_pending_parent(
    any_backend: Moderation,
) -> None:
    database = any_backend.database
    staff = make_staff(database)
    parent = add_comment(database, body="Please help.")
    reply = any_backend.reply_as_staff(parent, staff.id, "We hear you.\n\nCall someone now.")
    assert reply.status == CommentStatus.APPROVED and reply.is_staff
    assert reply.author_name == staff.display_name and reply.staff_user_id == staff.id
    assert reply.body_html == "<p>We hear you.</p><p>Call someone now.</p>"
    assert get_comment(database, parent).status == CommentStatus.APPROVED
    with database.read() as session:
        shown = public_threads.list_public(session, ARTICLE)
    assert [(c["staff"], c["signature"]) for c in shown] == [
        (False, None), (True, "Sam, for the editorial team")]
    assert [a[0] for a in audit(database, reply.id)] == ["reply"]
    assert [a[0] for a in audit(database, parent)] == ["approve"]


def test_staff_reply_past_the_deepest_level_joins_an_ancestor(moderation: Moderation) -> None:
    database = moderation.database
    staff = make_staff(database)
    parent_id = None
    for _ in range(comments.MAX_DEPTH + 1):
        parent_id = add_comment(database, parent_id=parent_id, status=CommentStatus.APPROVED)
    deepest = get_comment(database, parent_id)
    assert deepest.depth == comments.MAX_DEPTH
    reply = moderation.reply_as_staff(deepest.id, staff.id, "Answer.")
    assert reply.depth == comments.MAX_DEPTH
    assert reply.parent_id == deepest.parent_id


@pytest.mark.parametrize("status", [CommentStatus.REJECTED, CommentStatus.SPAM,
                                    CommentStatus.DELETED])
def test_only_pending_or_approved_comments_can_be_answered(moderation: Moderation,
                                                           status: CommentStatus) -> None:
    staff = make_staff(moderation.database)
    parent = add_comment(moderation.database, status=status)
    with pytest.raises(ModerationError) as raised:
        moderation.reply_as_staff(parent, staff.id, "Hello")
    assert raised.value.field == "parent"
    assert get_comment(moderation.database, parent).status == status


def test_disabled_staff_cannot_reply(moderation: Moderation) -> None:
    staff = make_staff(moderation.database)
    accounts.set_disabled(moderation.database, staff.username)
    parent = add_comment(moderation.database)
    with pytest.raises(ModerationError):
        moderation.reply_as_staff(parent, staff.id, "Hello")
    assert get_comment(moderation.database, parent).status == CommentStatus.PENDING


def test_blank_reply_is_refused_naming_the_field(moderation: Moderation) -> None:
    staff = make_staff(moderation.database)
    parent = add_comment(moderation.database)
    with pytest.raises(ModerationError) as raised:
        moderation.reply_as_staff(parent, staff.id, " \n ")
    assert raised.value.field == "body"


def test_crisis_template_is_ready_and_stays_deleted_when_an_admin_removes_it(
    moderation: Moderation,
) -> None:
    crisis = next(t for t in moderation.templates() if t.name == CRISIS_TEMPLATE_NAME)
    assert "emergency number" in crisis.body and "therapist" in crisis.body
    moderation.delete_template(OPERATOR, crisis.id)
    assert CRISIS_TEMPLATE_NAME not in [t.name for t in moderation.templates()]


def test_moderators_cannot_change_templates(moderation: Moderation) -> None:
    staff = make_staff(moderation.database)
    with pytest.raises(PermissionError):
        moderation.save_template(Actor.staff(staff), "Mine", "Text")
    with moderation.database.read() as session:
        assert session.scalar(select(ReplyTemplate).where(ReplyTemplate.name == "Mine")) is None


def test_template_names_are_unique(moderation: Moderation) -> None:
    moderation.templates()
    with pytest.raises(ModerationError) as raised:
        moderation.save_template(OPERATOR, CRISIS_TEMPLATE_NAME, "Another text")
    assert raised.value.field == "name"


def test_audit_lists_newest_first_with_the_staff_member(moderation: Moderation) -> None:
    staff = make_staff(moderation.database)
    comment_id = add_comment(moderation.database)
    moderation.approve(comment_id, Actor.staff(staff))
    moderation.delete(comment_id, OPERATOR)
    entries, total = moderation.audit(comment_id=comment_id)
    assert total == 2
    assert [(e.action, e.actor) for e in entries] == [("delete", "cli:test"), ("approve", "mod")]
    assert entries[1].staff_user is not None and entries[1].staff_user.username == "mod"
