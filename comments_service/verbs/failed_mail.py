"""Failed mail: what admins see of it (addresses masked) and putting it back in the queue.

A mail is marked failed after its retry period (``mail_retry_hours``) or when the server
refused it for good. Putting it back gives it a fresh retry period from now: ``created_at``
becomes the time it was queued again, the start outbox.py counts the period from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from comments_service.store.database import Database
from comments_service.store.models import EmailSubscriber, OutboxMail, utcnow
from comments_service.verbs.keyring import Keyring

LIST_LIMIT = 200


@dataclass(frozen=True)
class FailedMail:
    """A failed mail as the staff page shows it: never the full address or the body."""

    id: int
    recipient: str
    kind: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime


def mask_address(address: str) -> str:
    """'ada.reader@example.org' -> 'a*********@example.org': enough to tell mails apart."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "*" * min(len(address), 10) or "(none)"
    return (local[:1] + "*" * max(len(local) - 1, 1)) + "@" + domain


def _recipient(keyring: Keyring, mail: OutboxMail) -> str:
    # "" when the row was encrypted under another key: shown as "(none)", never a crash.
    return keyring.decrypt_email(mail.recipient_encrypted)


def _shown_recipient(keyring: Keyring, mail: OutboxMail) -> str:
    # A webhook delivery has no address: the endpoint's configured name says where it went.
    if mail.channel == "webhook":
        return f"webhook {mail.endpoint}"
    return mask_address(_recipient(keyring, mail))


def list_failed(database: Database, keyring: Keyring, limit: int = LIST_LIMIT) -> list[FailedMail]:
    """Failed mails, newest first, at most limit of them."""
    with database.read() as session:
        mails = list(session.scalars(
            select(OutboxMail).where(OutboxMail.status == "failed")
            .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(limit)))
    return [FailedMail(id=mail.id, recipient=_shown_recipient(keyring, mail),
                       kind=mail.kind, subject=mail.subject, attempts=mail.attempts,
                       last_error=mail.last_error, created_at=mail.created_at)
            for mail in mails]


def retry_failed(database: Database, keyring: Keyring,
                 mail_ids: Iterable[int] | None = None) -> int:
    """Put failed mails (all of them, or those with these ids) back in the queue, due now.

    Mail to an address that has since unsubscribed is cancelled instead: unsubscribing
    stops every mail, including one that failed before. Returns how many were queued.
    """
    now = utcnow()
    query = select(OutboxMail).where(OutboxMail.status == "failed")
    if mail_ids is not None:
        ids = list(mail_ids)
        if not ids:
            return 0
        query = query.where(OutboxMail.id.in_(ids))
    queued = 0
    with database.write() as session:
        for mail in session.scalars(query):
            recipient = _recipient(keyring, mail)
            subscriber = (session.get(EmailSubscriber, keyring.email_hash(recipient))
                          if recipient else None)
            if subscriber is not None and subscriber.unsubscribed:
                mail.status, mail.last_error = "cancelled", "unsubscribed"
                continue
            mail.status = "pending"
            mail.next_attempt_at = now
            mail.created_at = now
            queued += 1
    return queued
