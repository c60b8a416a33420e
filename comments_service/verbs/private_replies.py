"""Private replies: staff answer a comment by mail to its author, publishing nothing.

For a reader who disclosed something that should not become public, such as a crisis,
this answers them without approving their comment. The mail goes through the outbox to
the author's decrypted address; the audit log records that it was sent and its text,
never the address.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.models import Comment, StaffUser
from comments_service.verbs import comments, render
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound
from comments_service.verbs.notifications import KIND_PRIVATE_REPLY, Notifier

ACTION = "private_reply"
MAX_BODY_CHARS = comments.MAX_BODY


def _clean(body: str) -> str:
    body = render.normalize_newlines(body).strip()
    if not body:
        raise ModerationError("body", N_("must not be blank"))
    if len(body) > MAX_BODY_CHARS:
        raise ModerationError("body", N_("must be at most %(max)d characters"),
                              max=MAX_BODY_CHARS)
    return body


class PrivateReplies(AuditLog):
    """The private-reply verb, mixed into Moderation (database, notifier)."""

    database: Database
    notifier: Notifier

    def reply_privately(self, comment_id: int, staff_user_id: int, body: str) -> None:
        """Mail ``body`` to the comment's author, signed by the staff account; audited.

        Nothing is published and the comment keeps its status. Raises ModerationError when
        the comment has no address, its author unsubscribed, or no mail server is set.
        """
        body = _clean(body)
        if not self.notifier.enabled:
            raise ModerationError("mail", N_("no mail server is configured "
                                     "(COMMENTS_SMTP_HOST), so nothing can be sent"))
        with self.database.write() as session:
            user = session.get(StaffUser, staff_user_id)
            if user is None or user.disabled:
                raise ModerationError("staff", N_("no enabled staff account with that id"))
            comment = session.get(Comment, comment_id)
            if comment is None:
                raise NotFound(f"no comment with id {comment_id}")
            self._check_reachable(session, comment)
            title, _ = self.notifier.article_of(comment.article_id)
            signed = "\n".join(line for line in (user.display_name, user.signature) if line)
            # The notifier's translator: the service's language (COMMENTS_LANGUAGE).
            t = self.notifier.t
            text = t.gettext(
                "Hello %(author)s,\n\n%(body)s\n\n%(signed)s\n\n"
                "This reply to your comment on \u201c%(title)s\u201d was sent to you alone; "
                "it is not shown on the site.\n\n"
                "You can withdraw your comment at any time:\n%(link)s",
                author=comment.author_name, body=body, signed=signed, title=title,
                link=self.notifier.withdraw_link(comment.id))
            self.notifier.mail_author(
                session, KIND_PRIVATE_REPLY, comment,
                t.gettext("A reply from our team about your comment on %(title)s", title=title),
                text)
            self._audit(session, Actor.staff(user), ACTION, comment.id, "",
                        f"Mailed to the author (not published):\n\n{body}")

    def _check_reachable(self, session: Session, comment: Comment) -> None:
        if comment.is_staff:
            raise ModerationError("comment",
                                  N_("this is a staff reply; answer the reader instead"))
        if comment.erased or not comment.email_encrypted or not comment.email_hash:
            raise ModerationError("comment", N_("comment %(id)s has no email address "
                                                 "to reply to"), id=comment.id)
        if self.notifier.unsubscribed(session, comment.email_hash):
            raise ModerationError("comment", N_("its author asked for no mail from us "
                                                 "(unsubscribed), so nothing was sent"))
