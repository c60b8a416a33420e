"""A commenter's personal data: export and erasure by email address, and IP hash expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import (
    AuditEntry,
    Comment,
    CommentReport,
    CommentStatus,
    EmailSubscriber,
    LoginAttempt,
    OutboxMail,
    TrustRevoked,
    utcnow,
)
from comments_service.verbs import spam_learning
from comments_service.verbs.keyring import Keyring, normalize_email
from comments_service.verbs.moderation import Actor
from comments_service.verbs.notifications import make_token

FORMER_READER = "Former reader"
ERASED_MARK = "[erased]"


class ErasureError(i18n.Refusal):
    """Bad input for an export or erasure; ``field`` names the offending field
    (i18n.Refusal)."""


@dataclass(frozen=True)
class ErasureReport:
    comments: int
    text_removed: bool
    articles: tuple[str, ...]


def _check(actor: Actor, email: str) -> str:
    if not actor.is_admin:
        raise PermissionError("only admins can export or erase a commenter's data")
    email = normalize_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ErasureError("email", N_("must be an email address"))
    return email


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def export_by_email(database: Database, keyring: Keyring, email: str,
                    actor: Actor) -> dict[str, Any]:
    """Everything stored about the commenter with this address, as JSON-ready data."""
    email = _check(actor, email)
    email_hash = keyring.email_hash(email)
    with database.read() as session:
        comments = list(session.scalars(
            select(Comment).where(Comment.email_hash == email_hash)
            .order_by(Comment.created_at, Comment.id)))
        ids = [c.id for c in comments]
        edits = list(session.scalars(
            select(AuditEntry).where(AuditEntry.comment_id.in_(ids), AuditEntry.action == "edit")
            .order_by(AuditEntry.created_at))) if ids else []
        subscriber = session.get(EmailSubscriber, email_hash)
        reported = list(session.scalars(
            select(CommentReport).where(CommentReport.reporter_email_hash == email_hash)
            .order_by(CommentReport.created_at, CommentReport.id)))
    return {
        "email": email,
        "exported_at": _iso(utcnow()),
        "comments": [
            {
                "id": c.id,
                "article_id": c.article_id,
                "parent_id": c.parent_id,
                "created_at": _iso(c.created_at),
                "status": c.status.value,
                "author_name": c.author_name,
                "body": c.body,
                "email": keyring.decrypt_email(c.email_encrypted),
                "ip_hash": c.ip_hash,
                "notify": c.notify,
            }
            for c in comments
        ],
        "text_before_edits": [
            {"comment_id": e.comment_id, "edited_at": _iso(e.created_at), "before": e.before}
            for e in edits
        ],
        "reports": [
            {"comment_id": r.comment_id, "created_at": _iso(r.created_at), "reason": r.reason,
             "note": r.note, "name": r.reporter_name, "status": r.status}
            for r in reported
        ],
        "mail_subscription": None if subscriber is None else {
            "confirmed": subscriber.confirmed,
            "unsubscribed": subscriber.unsubscribed,
            "created_at": _iso(subscriber.created_at),
        },
    }


def erase_by_email(database: Database, keyring: Keyring, email: str, actor: Actor, *,
                   keep_text: bool) -> ErasureReport:
    """Remove the name, email and IP hash from every comment written with this address.

    With keep_text, approved text stays public under "Former reader"; without it, the text
    is removed too and the comments are taken down. Earlier texts kept by redaction edits
    and any queued or sent mail to the address go as well, in the same transaction.
    """
    email = _check(actor, email)
    email_hash = keyring.email_hash(email)
    now = utcnow()
    with database.write() as session:
        comments = list(session.scalars(
            select(Comment).where(Comment.email_hash == email_hash).with_for_update(of=Comment)))
        articles: set[str] = set()
        for comment in comments:
            if comment.status == CommentStatus.APPROVED:
                articles.add(comment.article_id)
            before = comment.status.value
            comment.author_name = FORMER_READER
            comment.email_encrypted = ""
            comment.email_hash = ""
            comment.ip_hash = None
            comment.notify = False
            comment.erased = True
            comment.updated_at = now
            if not keep_text:
                comment.body = ""
                comment.body_html = ""
                comment.body_hash = ""
                comment.status = CommentStatus.DELETED
            session.add(AuditEntry(
                comment_id=comment.id, staff_user_id=actor.staff_user_id, actor=actor.label,
                action="erase", before=before,
                after="text kept" if keep_text else "text removed", created_at=now))
        ids = [c.id for c in comments]
        if ids:
            # The original of a redacted text is exactly what erasure must not leave behind.
            session.execute(
                update(AuditEntry)
                .where(AuditEntry.comment_id.in_(ids), AuditEntry.action == "edit")
                .values(before=ERASED_MARK, after=ERASED_MARK if not keep_text
                        else AuditEntry.after))
        if ids:
            # What the spam classifier kept of these comments is their words and name.
            spam_learning.forget_comments(session, ids)
        # Reports this address made keep their record (reason, note, decision), not who.
        session.execute(update(CommentReport).where(
            CommentReport.reporter_email_hash == email_hash).values(
            reporter_name="", reporter_email_encrypted="", reporter_email_hash="", ip_hash=None))
        session.execute(delete(TrustRevoked).where(TrustRevoked.email_hash == email_hash))
        session.execute(delete(EmailSubscriber).where(EmailSubscriber.email_hash == email_hash))
        token = make_token(keyring, "unsubscribe", email_hash)
        session.execute(delete(OutboxMail).where(
            OutboxMail.unsubscribe_url.contains(f"token={token}", autoescape=True)))
        for article_id in sorted(articles):
            thread_versions.touch_thread(session, article_id)
    return ErasureReport(len(comments), not keep_text, tuple(sorted(articles)))


def purge_ip_hashes(database: Database, now: datetime | None = None) -> int:
    """Forget IP hashes older than ``ip_hash_retention_days``; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=database.settings.ip_hash_retention_days)
    with database.write() as session:
        result = session.execute(
            update(Comment)
            .where(Comment.ip_hash.is_not(None), Comment.created_at < cutoff)
            .values(ip_hash=None))
        # Reports keep their record (reason, decision); only the address hash goes.
        session.execute(update(CommentReport).where(
            CommentReport.ip_hash.is_not(None), CommentReport.created_at < cutoff,
        ).values(ip_hash=None))
        # Failed sign-ins are keyed by IP hash too; the window that needs them is far shorter.
        session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < cutoff))
        # Finished mails still hold an (encrypted) address and are of no further use.
        session.execute(delete(OutboxMail).where(
            OutboxMail.status.in_(("sent", "failed", "cancelled")), OutboxMail.created_at < cutoff,
        ))
        return result.rowcount or 0
