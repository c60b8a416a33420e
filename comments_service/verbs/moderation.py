"""Moderation verbs: status changes, redaction and staff replies.

Reading the queue (queue_reads), reply templates (reply_templates) and the audit log
(audit) are mixed into Moderation, so staff pages and the CLI keep one object for
everything staff do; the names they import from here are re-exported below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.i18n import N_, Term
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import (
    Comment,
    CommentStatus,
    StaffUser,
    utcnow,
)
from comments_service.verbs import comments, render, spam_learning, urgency
from comments_service.verbs.audit import (  # noqa: F401 - re-exported for staff pages
    PAGE_SIZE,
    Actor,
    ModerationError,
    NotFound,
)
from comments_service.verbs.content_notes import ContentNotes
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import ArticleLookup, Notifier
from comments_service.verbs.outcome_mail import reason_error, reason_label
from comments_service.verbs.private_replies import PrivateReplies
from comments_service.verbs.queue_reads import (  # noqa: F401 - staff pages import them here
    LIKELY_SPAM,
    QueueFilter,
    QueueItem,
    QueuePage,
    QueueReads,
)
from comments_service.verbs.reply_templates import ReplyTemplates
from comments_service.verbs.withdrawal import Withdrawals

MAX_BODY_CHARS = comments.MAX_BODY

# What each status-changing action sets; "delete" is a soft delete, erasure removes data.
ACTIONS: dict[str, CommentStatus] = {
    "approve": CommentStatus.APPROVED,
    "reject": CommentStatus.REJECTED,
    "spam": CommentStatus.SPAM,
    "delete": CommentStatus.DELETED,
}


class Moderation(QueueReads, ReplyTemplates, PrivateReplies, ContentNotes, Withdrawals):
    """The moderation verbs over one database. Each changing verb is one transaction."""

    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        articles: ArticleLookup | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.articles = articles
        self.notifier = notifier or Notifier(database.settings, keyring, articles)

    # Status changes -------------------------------------------------------------------

    def approve(self, comment_id: int, actor: Actor) -> bool:
        """Publish a comment. Returns False when it already was published."""
        return self.bulk("approve", [comment_id], actor) == 1

    def reject(self, comment_id: int, actor: Actor, reason: str = "") -> bool:
        """Refuse a comment (kept, never shown). Returns False when nothing changed.

        ``reason`` (a key of outcome_mail.REJECTION_REASONS, optional) goes into the kind
        note an opted-in reader gets by mail.
        """
        return self.bulk("reject", [comment_id], actor, reason) == 1

    def mark_spam(self, comment_id: int, actor: Actor) -> bool:
        """Mark a comment as spam (kept, never shown). Returns False when nothing changed."""
        return self.bulk("spam", [comment_id], actor) == 1

    def delete(self, comment_id: int, actor: Actor) -> bool:
        """Take a comment down (kept for the audit trail). Returns False when nothing changed."""
        return self.bulk("delete", [comment_id], actor) == 1

    def bulk(self, action: str, comment_ids: Iterable[int], actor: Actor,
             reason: str = "") -> int:
        """Apply one action to several comments in one transaction; returns how many changed.

        Raises NotFound when any id is unknown, so a stale selection changes nothing.
        """
        if action not in ACTIONS:
            raise ModerationError("action", N_("must be one of %(choices)s"),
                                  choices=", ".join(ACTIONS))
        problem = reason_error(reason) if action == "reject" else None
        if problem:
            raise problem
        ids = sorted(set(comment_ids))
        if not ids:
            raise ModerationError("ids", N_("select at least one comment"))
        unstorable = [i for i in ids if not storable_id(i)]
        if unstorable:
            raise NotFound(f"no comment with id {unstorable[0]}")
        changed = 0
        with self.database.write() as session:
            comments = {c.id: c for c in session.scalars(
                select(Comment).where(Comment.id.in_(ids)).with_for_update(of=Comment))}
            missing = [i for i in ids if i not in comments]
            if missing:
                raise NotFound(f"no comment with id {missing[0]}")
            for comment_id in ids:
                if self._set_status(session, comments[comment_id], ACTIONS[action], actor,
                                    reason):
                    changed += 1
        return changed

    def _set_status(self, session: Session, comment: Comment, status: CommentStatus,
                    actor: Actor, reason: str = "") -> bool:
        before = comment.status
        if before == status:
            return False
        now = utcnow()
        comment.status = status
        comment.moderated_at = now
        comment.updated_at = now
        label = reason_label(reason) if status == CommentStatus.REJECTED else ""
        self._audit(session, actor, ACTION_NAMES[status], comment.id, before.value,
                    f"{status.value}: {label}" if label else status.value)
        # Every decision, from the queue, bulk actions or the CLI, teaches the classifier.
        spam_learning.record_decision(session, comment, status)
        if CommentStatus.APPROVED in (before, status):
            thread_versions.touch_thread(session, comment.article_id)
        if status == CommentStatus.APPROVED and before == CommentStatus.PENDING:
            self.notifier.comment_approved(session, comment)
            if comment.parent_id:
                parent = session.get(Comment, comment.parent_id)
                if parent is not None:
                    self.notifier.reply_published(session, comment, parent)
        if status == CommentStatus.REJECTED and before == CommentStatus.PENDING:
            self.notifier.comment_rejected(session, comment, reason)
        return True

    def dismiss_urgent(self, comment_id: int, actor: Actor) -> bool:
        """Mark a comment's urgent flag as a false alarm; False when it was not flagged.

        The detector's reasons stay on the comment and go into the audit entry, so a
        dismissed flag can always be reviewed later.
        """
        with self.database.write() as session:
            comment = self._get_for_update(session, comment_id)
            if not comment.urgent:
                return False
            comment.urgent = False
            comment.updated_at = utcnow()
            reasons = "\n".join(urgency.describe(comment.urgent_reasons)) or "urgent"
            self._audit(session, actor, "urgent_dismissed", comment.id, reasons, "false alarm")
        return True

    def edit(self, comment_id: int, body: str, actor: Actor) -> bool:
        """Replace a comment's text, e.g. to redact personal details.

        The original text is kept in the audit entry's ``before``. Returns False when the
        text is unchanged.
        """
        body = _clean_body(body)
        with self.database.write() as session:
            comment = self._get_for_update(session, comment_id)
            if comment.body == body:
                return False
            before = comment.body
            comment.body = body
            comment.body_html = render.render_comment(body)
            spam_learning.relearn(session, comment)
            if not comment.is_staff:
                # An edit can add a disclosure (a reader's words pasted back in) but never
                # clears a flag: only a staff member's explicit false-alarm mark does that.
                found = urgency.assess(self.database.settings, body)
                if found:
                    comment.urgent = True
                    comment.urgent_reasons = urgency.merge(comment.urgent_reasons,
                                                           found).to_json()
            comment.updated_at = utcnow()
            self._audit(session, actor, "edit", comment.id, before, body)
            if comment.status == CommentStatus.APPROVED:
                thread_versions.touch_thread(session, comment.article_id)
        return True

    def reply_as_staff(self, parent_id: int, staff_user_id: int, body: str,
                       publish_parent: bool = False) -> Comment:
        """Publish a staff reply at once; a pending parent is approved with it.

        An urgent pending parent is a disclosure the reader may not want public: it is
        approved only with ``publish_parent``; otherwise nothing is published and
        ModerationError("publish_parent") says why (a private reply answers without it).

        The reply carries the staff member's display name; its badge and signature come
        from the account, never from anything a reader typed.
        """
        body = _clean_body(body)
        with self.database.write() as session:
            user = session.get(StaffUser, staff_user_id)
            if user is None or user.disabled:
                raise ModerationError("staff", N_("no enabled staff account with that id"))
            actor = Actor.staff(user)
            parent = self._get_for_update(session, parent_id)
            if parent.status not in (CommentStatus.APPROVED, CommentStatus.PENDING):
                raise ModerationError(
                    "parent", N_("comment %(id)s is %(status)s; only pending or approved "
                                 "comments can be answered"),
                    id=parent_id, status=Term(parent.status.value))
            if parent.status == CommentStatus.PENDING and parent.urgent and not publish_parent:
                raise ModerationError(
                    "publish_parent", N_("was not published: the comment it answers was flagged "
                                         "urgent, and publishing a reply publishes it too. "
                                         "Confirm that the reader's comment should become "
                                         "public, or reply privately by mail"))
            if parent.status == CommentStatus.PENDING:
                self._set_status(session, parent, CommentStatus.APPROVED, actor)
            # Past the deepest level the page shows, the reply joins the nearest ancestor
            # that can hold it, as a reader's reply would.
            attach = parent
            while attach.depth >= comments.MAX_DEPTH and attach.parent_id is not None:
                ancestor = session.get(Comment, attach.parent_id)
                if ancestor is None:
                    break
                attach = ancestor
            now = utcnow()
            reply = Comment(
                article_id=parent.article_id,
                parent_id=attach.id,
                depth=min(attach.depth + 1, comments.MAX_DEPTH),
                author_name=user.display_name,
                email_encrypted="",
                email_hash="",
                body=body,
                body_html=render.render_comment(body),
                body_hash=hashlib.sha256(body.encode()).hexdigest(),
                status=CommentStatus.APPROVED,
                urgent=False,
                is_staff=True,
                staff_user_id=user.id,
                created_at=now,
                updated_at=now,
                moderated_at=now,
                ip_hash=None,
                notify=False,
                erased=False,
                # Nobody needs to moderate a staff reply, so no moderator mail is due.
                notified=True,
            )
            session.add(reply)
            session.flush()
            self._audit(session, actor, "reply", reply.id, "", body)
            thread_versions.touch_thread(session, parent.article_id)
            self.notifier.reply_published(session, reply, parent)
        return reply

    def _get_for_update(self, session: Session, comment_id: int) -> Comment:
        comment = (session.get(Comment, comment_id, with_for_update={"of": Comment})
                   if storable_id(comment_id) else None)
        if comment is None:
            raise NotFound(f"no comment with id {comment_id}")
        return comment


ACTION_NAMES: dict[CommentStatus, str] = {status: name for name, status in ACTIONS.items()}
def _clean_body(body: str) -> str:
    """Staff-written text, trimmed with newlines made uniform; ModerationError when unusable."""
    body = render.normalize_newlines(body).strip()
    if not body:
        raise ModerationError("body", N_("must not be blank"))
    if len(body) > MAX_BODY_CHARS:
        raise ModerationError("body", N_("must be at most %(max)d characters"),
                              max=MAX_BODY_CHARS)
    return body
