"""What happens to a new comment before it is stored: blocklists, the spam score, trust.

Read in one short transaction before the post's write, so the write lock is held no longer
than before (on PostgreSQL read already, with the pause switch: post_reads). The outcome:
refused (a block says so), stored as spam (a block), held (the default; a matching hold
block adds its note), or published at once (a trusted regular's comment that is not
urgent, blocked or likely spam).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import blocklist, spam_learning, trusted
from comments_service.verbs.audit import Actor, AuditLog
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import Notifier
from comments_service.verbs.post_reads import PostReads

AUTO_APPROVE = Actor(label="auto-approve")


@dataclass(frozen=True)
class Screening:
    """The status a new comment is stored with, its spam score and the note staff see."""

    status: CommentStatus
    score: spam_learning.Score | None = None
    note: str = ""
    refused: bool = False

    @property
    def auto_approved(self) -> bool:
        return self.status == CommentStatus.APPROVED

    def columns(self) -> dict[str, object]:
        """The comment row's screening columns."""
        return {"status": self.status, "screening_note": self.note,
                "spam_score": self.score.probability if self.score else None,
                "spam_reasons": self.score.reasons_json() if self.score else ""}


def screen(database: Database, keyring: Keyring, *, email: str, email_hash: str,
           client_ip: str, author: str, body: str, urgent: bool,
           reads: PostReads | None = None) -> Screening:
    """Decide a new comment's fate; ``refused`` means do not store it at all.

    ``reads``: the blocklist and spam model version a post on PostgreSQL read with the
    pause switch (post_reads); without them, or on SQLite, they are read here.
    """
    rules = reads.blocks if reads is not None else None
    version = reads.spam_version if reads is not None else None
    with database.read() as session:
        if rules is None:
            rules = blocklist.rules_in(session)
        block = blocklist.match_rules(rules, keyring, email, client_ip, author, body)
        if block is not None and block.action == "refuse":
            return Screening(CommentStatus.PENDING, note=block.note, refused=True)
        score = spam_learning.score_text(database, session, body, author, version)
        if block is not None:
            status = CommentStatus.SPAM if block.action == "spam" else CommentStatus.PENDING
            return Screening(status, score, block.note)
        # Urgent comments always wait for a person, whoever wrote them.
        if urgent or spam_learning.is_likely_spam(database, score):
            return Screening(CommentStatus.PENDING, score)
        rule = trusted.trust_rule(session, database.settings, email_hash)
    if rule:
        return Screening(CommentStatus.APPROVED, score, f"Published at once: {rule}")
    return Screening(CommentStatus.PENDING, score)


def after_insert(session: Session, comment_id: int, article_id: str,
                 screening: Screening, notifier: Notifier) -> None:
    """In the post's write transaction: audit an auto-approval, re-bake its page, and send
    what a staff approval sends (the author's mail, webhooks, the parent author's mail)."""
    if not screening.auto_approved:
        return
    AuditLog._audit(session, AUTO_APPROVE, "approve", comment_id, CommentStatus.PENDING.value,
                    f"{CommentStatus.APPROVED.value}: {screening.note}")
    thread_versions.touch_thread(session, article_id)
    comment = session.get(Comment, comment_id)
    if comment is None:  # pragma: no cover - inserted in this very transaction
        return
    notifier.comment_approved(session, comment)
    parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
    if parent is not None:
        notifier.reply_published(session, comment, parent)
