"""The site-wide pause switch: close every comment form at once, and open them again.

The state is one database row, so every worker process, the CLI and the baker agree. While
paused, posts are refused (403), the page's script swaps the form for crisis resources, and
every article page is queued for re-baking with the closed state; comments stay visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comments_service.i18n import N_
from comments_service.logs import log_write
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import AuditEntry, CommentsPause, utcnow
from comments_service.verbs.audit import Actor, ModerationError
from comments_service.verbs.submission import CommentsNotOpen

PAUSE_ROW = 1
MAX_MESSAGE = 500
DEFAULT_MESSAGE = "You can still read the comments here; please come back later to write one."


@dataclass(frozen=True)
class PauseState:
    """Whether forms are closed, what readers are told, and who changed it when."""

    paused: bool = False
    message: str = ""
    changed_by: str = ""
    changed_at: datetime | None = None

    @property
    def reader_message(self) -> str:
        """The sentence readers see in place of the form."""
        return self.message or DEFAULT_MESSAGE


class CommentsPaused(CommentsNotOpen):
    """A post refused because the site-wide pause is on (403; post_reads.before_post)."""

    def __init__(self, state: PauseState) -> None:
        super().__init__(f"Comments are paused on the whole site, so your comment was not "
                         f"sent. {state.reader_message}")
        self.state = state


def state_in(session: Session) -> PauseState:
    """The pause state, read in the caller's transaction."""
    row = session.get(CommentsPause, PAUSE_ROW)
    if row is None:
        return PauseState()
    return PauseState(row.paused, row.message, row.changed_by, row.changed_at)


def current(database: Database) -> PauseState:
    """The pause state as every process sees it now."""
    with database.read() as session:
        return state_in(session)


def set_paused(
    database: Database, actor: Actor, paused: bool, article_ids: Iterable[str],
    message: str | None = None, now: datetime | None = None,
) -> PauseState:
    """Turn the pause on or off (admins and operators only), audited, and queue re-bakes.

    ``message`` replaces the reader message when given ("" restores the standard one);
    None keeps the one stored. Every article in ``article_ids`` is touched, so caches and
    baked pages follow within seconds wherever the service runs its re-baker.
    """
    if not actor.is_admin:
        raise PermissionError("only admins can pause or resume comments")
    if message is not None:
        message = " ".join(message.split())
        if len(message) > MAX_MESSAGE:
            raise ModerationError("message",
                                  N_("must be at most %(max)d characters (it has %(length)d)"),
                                  max=MAX_MESSAGE, length=len(message))
    now = now or utcnow()
    with database.write() as session:
        row = session.get(CommentsPause, PAUSE_ROW)
        if row is None:
            row = CommentsPause(id=PAUSE_ROW, paused=False, message="", changed_by="",
                                changed_at=now)
            session.add(row)
        before = "paused" if row.paused else "open"
        row.paused = paused
        if message is not None:
            row.message = message
        row.changed_by = actor.label
        row.changed_at = now
        session.add(AuditEntry(
            comment_id=None, staff_user_id=actor.staff_user_id, actor=actor.label,
            action="comments_paused" if paused else "comments_resumed",
            before=before, after=("paused: " + (row.message or DEFAULT_MESSAGE)) if paused
            else "open", created_at=now))
        for article_id in sorted(set(article_ids)):
            thread_versions.touch_thread(session, article_id)
        state = state_in(session)
    log_write("comments.paused" if paused else "comments.resumed", actor=actor.label)
    return state
