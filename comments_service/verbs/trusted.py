"""Trusted regulars: commenters whose record lets their next comments be published at once.

Off unless ``COMMENTS_TRUSTED_AFTER`` is set: after that many approved comments under one
email address (by keyed hash) and none rejected or marked spam, a commenter's comments are
published without waiting, except urgent, blocked and likely-spam ones (screening decides
that). Staff revoke trust per commenter; a revocation is kept by email hash until undone.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import Comment, CommentStatus, TrustRevoked, utcnow
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound

_REFUSED = (CommentStatus.REJECTED, CommentStatus.SPAM)


def trust_rule(session: Session, settings: Settings, email_hash: str) -> str:
    """Why this commenter's comment may be published at once, or "" when it must wait."""
    needed = settings.trusted_after
    if needed <= 0 or not email_hash:
        return ""
    if session.get(TrustRevoked, email_hash) is not None:
        return ""
    counts = dict(session.execute(
        select(Comment.status, func.count()).where(
            Comment.email_hash == email_hash, Comment.is_staff.is_(False))
        .group_by(Comment.status)).all())
    approved = counts.get(CommentStatus.APPROVED, 0)
    refused = sum(counts.get(status, 0) for status in _REFUSED)
    if approved < needed or refused:
        return ""
    return (f"trusted regular: {approved} approved comments, none rejected or spam "
            f"(COMMENTS_TRUSTED_AFTER={needed})")


class Trust(AuditLog):
    """Revoking and restoring a commenter's trust, by one of their comments; audited."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def is_revoked(self, email_hash: str) -> bool:
        """True when staff revoked trust for this address hash."""
        if not email_hash:
            return False
        with self.database.read() as session:
            return session.get(TrustRevoked, email_hash) is not None

    def revoke(self, comment_id: int, actor: Actor) -> bool:
        """Make every later comment by this comment's author wait; False if already so."""
        with self.database.write() as session:
            comment = self._author_comment(session, comment_id)
            if session.get(TrustRevoked, comment.email_hash) is not None:
                return False
            session.add(TrustRevoked(email_hash=comment.email_hash, revoked_by=actor.label,
                                     revoked_at=utcnow()))
            self._audit(session, actor, "trust_revoked", comment.id, "", "trust revoked")
        return True

    def restore(self, comment_id: int, actor: Actor) -> bool:
        """Let this author earn trust again under the usual rule; False if it was not revoked."""
        with self.database.write() as session:
            comment = self._author_comment(session, comment_id)
            revoked = session.get(TrustRevoked, comment.email_hash)
            if revoked is None:
                return False
            session.delete(revoked)
            self._audit(session, actor, "trust_restored", comment.id, "trust revoked", "")
        return True

    @staticmethod
    def _author_comment(session: Session, comment_id: int) -> Comment:
        comment = session.get(Comment, comment_id) if storable_id(comment_id) else None
        if comment is None:
            raise NotFound(f"no comment with id {comment_id}")
        if comment.is_staff or not comment.email_hash:
            raise ModerationError("comment",
                                  N_("has no reader's email address to trust or not"))
        return comment
