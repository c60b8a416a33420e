"""Content notes: a short staff note ("mentions self-harm") the page folds a comment behind."""

from __future__ import annotations

from comments_service.i18n import N_, Term
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound

MAX_NOTE_CHARS = 80
ACTION = "content_note"
# A note is for what readers see or are about to see.
_NOTE_STATUSES = (CommentStatus.APPROVED, CommentStatus.PENDING)


def clean_note(note: str) -> str:
    """One line of plain text, at most MAX_NOTE_CHARS; "" clears the note."""
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_CHARS:
        raise ModerationError("content_note",
                              N_("must be at most %(max)d characters (it has %(length)d)"),
                              max=MAX_NOTE_CHARS, length=len(note))
    return note


class ContentNotes(AuditLog):
    """The content-note verb, mixed into Moderation (which provides ``database``)."""

    database: Database

    def set_content_note(self, comment_id: int, note: str, actor: Actor) -> bool:
        """Set or clear (with "") a comment's content note; False when it is unchanged."""
        note = clean_note(note)
        with self.database.write() as session:
            comment = session.get(Comment, comment_id, with_for_update={"of": Comment})
            if comment is None:
                raise NotFound(f"no comment with id {comment_id}")
            if comment.status not in _NOTE_STATUSES:
                raise ModerationError(
                    "content_note", N_("comment %(id)s is %(status)s; only approved or pending "
                                       "comments take a content note"),
                    id=comment_id, status=Term(comment.status.value))
            if comment.content_note == note:
                return False
            before = comment.content_note
            comment.content_note = note
            comment.updated_at = utcnow()
            self._audit(session, actor, ACTION, comment.id, before, note)
            if comment.status == CommentStatus.APPROVED:
                thread_versions.touch_thread(session, comment.article_id)
        return True
