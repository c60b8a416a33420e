"""Withdrawal: a reader removes their own comment from a signed link, or staff do it for them.

The link names one comment and is signed with the keyring's signing key, so it needs no
account and cannot be turned on another comment. It does not expire: a reader may change
their mind about something they disclosed at any time.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from sqlalchemy.orm import Session

from comments_service.i18n import N_
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound
from comments_service.verbs.keyring import Keyring

PURPOSE = "withdraw"
# The audit log's actor for a withdrawal made from the mailed link.
READER = Actor(label="reader")
ACTION = "withdraw"
# Already out of public view and kept as they are: withdrawing them changes nothing.
_GONE = (CommentStatus.DELETED, CommentStatus.SPAM)


def _sign(keyring: Keyring, comment_id: int) -> str:
    mac = hmac.new(keyring.signing_key, f"{PURPOSE}:{comment_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def withdraw_token(keyring: Keyring, comment_id: int) -> str:
    """The signed token of one comment's withdraw link."""
    return f"{comment_id}.{_sign(keyring, comment_id)}"


def read_withdraw_token(keyring: Keyring, token: str) -> int | None:
    """The comment id a token names, or None when it is malformed or not signed by us."""
    raw_id, _, signature = (token or "").partition(".")
    if not raw_id.isdigit() or len(raw_id) > 18 or not signature:
        return None
    comment_id = int(raw_id)
    if not hmac.compare_digest(_sign(keyring, comment_id).encode(), signature.encode()):
        return None
    return comment_id


def withdraw_path(keyring: Keyring, comment_id: int) -> str:
    """The service path of a comment's withdraw page (GET shows a button, POST withdraws)."""
    return f"/mail/withdraw?token={quote(withdraw_token(keyring, comment_id))}"


def _withdraw(session: Session, comment: Comment, actor: Actor) -> bool:
    before = comment.status
    if before in _GONE:
        return False
    now = utcnow()
    comment.status = CommentStatus.DELETED
    comment.moderated_at = now
    comment.updated_at = now
    AuditLog._audit(session, actor, ACTION, comment.id, before.value,
                    CommentStatus.DELETED.value)
    if before == CommentStatus.APPROVED:
        # Also queues the re-bake, so the static page loses it within seconds.
        thread_versions.touch_thread(session, comment.article_id)
    return True


def withdraw(database: Database, keyring: Keyring, token: str) -> bool:
    """Withdraw the comment a mailed link names; False when the link is not valid.

    A comment already withdrawn (or taken down) counts as done: the reader sees the same
    answer whichever button they pressed first.
    """
    comment_id = read_withdraw_token(keyring, token)
    if comment_id is None:
        return False
    with database.write() as session:
        comment = session.get(Comment, comment_id, with_for_update={"of": Comment})
        if comment is None or comment.is_staff:
            return False
        _withdraw(session, comment, READER)
    return True


class Withdrawals(AuditLog):
    """Staff withdrawing a comment for its author, mixed into Moderation."""

    database: Database

    def withdraw_for_reader(self, comment_id: int, actor: Actor) -> bool:
        """Withdraw a reader's comment at their request (by mail, phone...), audited.

        Returns False when it was already out of view (deleted or spam).
        """
        with self.database.write() as session:
            comment = session.get(Comment, comment_id, with_for_update={"of": Comment})
            if comment is None:
                raise NotFound(f"no comment with id {comment_id}")
            if comment.is_staff:
                raise ModerationError("comment", N_("staff replies are deleted, not withdrawn"))
            return _withdraw(session, comment, actor)
