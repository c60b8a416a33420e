"""Undo: put a comment back as it was before the last approve, reject, spam or delete.

Only the last action on a comment, by anyone, and only for a short while: an undo after
someone else has acted would silently overturn their decision. The undo is itself an
audit entry ("undo"), so the history reads as it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import AuditEntry, Comment, CommentStatus, OutboxMail, utcnow
from comments_service.verbs import spam_learning
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound
from comments_service.verbs.moderation import ACTIONS
from comments_service.verbs.notifications import KIND_APPROVED, KIND_REJECTED

UNDO_WINDOW = timedelta(minutes=10)
# An outcome mail still waiting in the outbox is withdrawn with the decision it announced.
_OUTCOME_KINDS = (KIND_APPROVED, KIND_REJECTED)


class UndoRefused(ModerationError):
    """Nothing was undone; ``reason`` is "expired", "superseded" or "nothing"."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__("undo", message)


@dataclass(frozen=True)
class Undone:
    """What an undo did: the comment, and the status it left and got back."""

    comment_id: int
    article_id: str
    undid: str
    status: CommentStatus


def statuses(database: Database, comment_ids: list[int]) -> dict[int, CommentStatus]:
    """Each known comment's status now, in one query (unknown or unstorable ids left out)."""
    ids = [i for i in set(comment_ids) if storable_id(i)]
    if not ids:
        return {}
    with database.read() as session:
        return dict(session.execute(
            select(Comment.id, Comment.status).where(Comment.id.in_(ids))).all())


def latest_entry_id(database: Database) -> int:
    """The newest audit entry's id: an Undo offered now undoes nothing written after it."""
    with database.read() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


def undo_last(database: Database, comment_id: int, actor: Actor,
              now: datetime | None = None, mark: int | None = None) -> Undone:
    """Undo the last status action on a comment, if it is recent and still the last.

    ``mark`` is latest_entry_id() when the Undo was offered: when anyone has acted on the
    comment since, its last entry is newer, and the undo is refused rather than
    overturning that later decision. Raises NotFound for an unknown comment and
    UndoRefused when it cannot be undone.
    """
    if not storable_id(comment_id):
        raise NotFound(f"no comment with id {comment_id}")
    now = now or utcnow()
    with database.write() as session:
        comment = session.get(Comment, comment_id, with_for_update={"of": Comment})
        if comment is None:
            raise NotFound(f"no comment with id {comment_id}")
        last = session.scalars(
            select(AuditEntry).where(AuditEntry.comment_id == comment_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(1)).first()
        if last is not None and mark is not None and last.id > mark:
            raise UndoRefused("superseded", f"comment {comment_id} was changed after the "
                              "action this undo is for")
        if last is None or last.action not in ACTIONS:
            if last is not None and last.action != "undo":
                raise UndoRefused("superseded", f"comment {comment_id} was changed since "
                                  f"(its last change is \u201c{last.action}\u201d)")
            raise UndoRefused("nothing", f"comment {comment_id} has no action to undo")
        if now - last.created_at > UNDO_WINDOW:
            minutes = int(UNDO_WINDOW.total_seconds() // 60)
            raise UndoRefused("expired", f"the {last.action} of comment {comment_id} was more "
                              f"than {minutes} minutes ago")
        if comment.status != ACTIONS[last.action]:
            raise UndoRefused("superseded", f"comment {comment_id} is "
                              f"{comment.status.value} now")
        try:
            previous = CommentStatus(last.before)
        except ValueError:
            raise UndoRefused("nothing", f"comment {comment_id}'s earlier status is not "
                              "known") from None
        undone = comment.status
        comment.status = previous
        comment.updated_at = now
        comment.moderated_at = None if previous == CommentStatus.PENDING else now
        # The classifier takes back (or swaps) what the undone decision taught it.
        spam_learning.record_decision(session, comment, previous)
        _withdraw_outcome_mail(session, comment, last.created_at)
        AuditLog._audit(session, actor, "undo", comment.id, undone.value,
                        f"{previous.value} (undid {last.action})", when=now)
        if CommentStatus.APPROVED in (undone, previous):
            thread_versions.touch_thread(session, comment.article_id)
        return Undone(comment.id, comment.article_id, last.action, previous)


def undo_many(database: Database, comment_ids: list[int], actor: Actor,
              mark: int | None = None) -> tuple[int, str]:
    """Undo each comment's last action; how many were undone and the first refusal's key."""
    done, refusal = 0, ""
    for comment_id in sorted(set(comment_ids)):
        try:
            undo_last(database, comment_id, actor, mark=mark)
            done += 1
        except UndoRefused as exc:
            refusal = refusal or exc.reason
    return done, refusal


def _withdraw_outcome_mail(session: Session, comment: Comment, since: datetime) -> None:
    # Only mail not yet handed to the server can be withdrawn; a sent one stays sent.
    if not comment.email_encrypted:
        return
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.status == "pending", OutboxMail.kind.in_(_OUTCOME_KINDS),
               OutboxMail.recipient_encrypted == comment.email_encrypted,
               OutboxMail.created_at >= since - timedelta(seconds=1))
        .values(status="cancelled", last_error="withdrawn: the decision was undone"))
