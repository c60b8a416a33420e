"""Submitting a reader's comment: checked (``submission``), screened, stored for moderation.

The errors and the field checks live in ``submission``; they are re-exported here, since
every caller of ``submit`` also handles its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.articles.article import Article
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.logs import log_write
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs import admission, closing, screening, spam, urgency
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import Notifier
from comments_service.verbs.post_reads import PostReads
from comments_service.verbs.render import render_comment
from comments_service.verbs.submission import (
    FIELD_LABELS,
    MAX_AUTHOR,
    MAX_BODY,
    MAX_DEPTH,
    MAX_EMAIL,
    MAX_EMAIL_LOCAL,
    ArticleNotFound,
    CommentError,
    CommentsNotOpen,
    DuplicateComment,
    InvalidComment,
    RateLimited,
    Refused,
    Submission,
    duplicate_error,
    tr,
    validate_submission,
)

# Core, not the ORM unit of work: a post inserts one row and needs back only its id.
_INSERT_COMMENT = insert(Comment.__table__)
# The same row, stored only when spam.ADMISSION holds: INSERT ... SELECT <the values>
# WHERE <under the rate limit and not a duplicate> RETURNING id.
_ADMITTED_COLUMNS = ("article_id", "parent_id", "depth", "author_name", "email_encrypted",
                     "email_hash", "body", "body_html", "body_hash", "status", "urgent",
                     "urgent_reasons",
                     "is_staff", "created_at", "updated_at", "ip_hash", "notify", "erased",
                     "notified", "spam_score", "spam_reasons", "screening_note")
_ADMITTED_INSERT = (
    insert(Comment.__table__)
    .from_select(
        _ADMITTED_COLUMNS,
        select(*(bindparam(name, type_=Comment.__table__.c[name].type)
                 for name in _ADMITTED_COLUMNS)).where(spam.ADMISSION),
    )
    .returning(Comment.__table__.c.id)
)

# Message ids: readers get them in the service's language (i18n.current()).
PENDING_MESSAGE = N_(
    "Thank you. Your comment was received and is awaiting moderation; it will appear once "
    "a moderator has approved it."
)
PUBLISHED_MESSAGE = N_("Thank you. Your comment is published.")



# Submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    """What the reader is told: the new comment's id (for a dropped honeypot post, the id
    it would have had; ``discarded`` says which, and is never shown)."""

    id: int
    status: str = CommentStatus.PENDING.value
    urgent: bool = False
    message: str = PENDING_MESSAGE
    crisis_message: str | None = None
    discarded: bool = field(default=False, repr=False)


def require_open_article(catalog: Catalog, article_id: str,
                         settings: Settings | None = None) -> Article:
    """The article, if it exists and takes comments; else ArticleNotFound or CommentsNotOpen.

    With ``settings``, the site-wide read-only switch and closing by age apply too.
    """
    article = catalog.get(article_id)
    if article is None:
        raise ArticleNotFound(tr(N_("There is no article with id '%(id)s'."), id=article_id))
    if article.comments != "open":
        raise CommentsNotOpen(tr(N_("Comments are %(state)s on this article."),
                                 state=article.comments))
    reason = closing.refusal(settings, article) if settings is not None else None
    if reason:
        raise CommentsNotOpen(reason)
    return article


def submit(
    database: Database,
    settings: Settings,
    keyring: Keyring,
    catalog: Catalog,
    article_id: str,
    data: Mapping[str, Any],
    client_ip: str,
    now: datetime | None = None,
    reads: PostReads | None = None,
) -> SubmitResult:
    """Store a reader's comment as pending (one transaction), or raise a CommentError.

    ``reads``: what post_reads.before_post read for this post (the pause switch already
    checked), so screening need not read the blocklist and spam model again.

    Order: the article must exist and be open; then fields, links, parent, rate limit and
    duplicates are checked. A filled honeypot is checked the same way and answered as if
    stored (see _discard), so a bot cannot tell. Urgent comments are flagged and the reader
    gets the crisis message at once; the flag never publishes or rejects anything.
    """
    now = now or utcnow()
    require_open_article(catalog, article_id, settings)
    ip_hash = keyring.ip_hash(client_ip)
    submission = validate_submission(data)
    if spam.count_links(submission.body) > settings.max_links:
        raise InvalidComment(
            {"body": tr(N_("Comment may contain at most %(max)s links."),
                        max=settings.max_links)}
        )
    found = urgency.assess(settings, submission.body, submission.author)
    urgent = found.urgent
    fingerprint = spam.body_fingerprint(submission.body)
    if spam.honeypot_tripped(data.get(spam.HONEYPOT_FIELD)):
        return _discard(database, settings, article_id, submission, ip_hash, fingerprint,
                        urgent, now, keyring.email_hash(submission.email))
    body_html = render_comment(submission.body)
    # Everything that needs no database is done before the write lock is taken.
    email_encrypted = keyring.encrypt_email(submission.email)
    email_hash = keyring.email_hash(submission.email)
    screened = screening.screen(database, keyring, email=submission.email,
                                email_hash=email_hash, client_ip=client_ip,
                                author=submission.author, body=submission.body, urgent=urgent,
                                reads=reads)
    if screened.refused:
        log_write("comment.refused", article_id=article_id, reason="blocklist")
        raise Refused()

    row = {
        "article_id": article_id,
        "author_name": submission.author,
        "email_encrypted": email_encrypted,
        "email_hash": email_hash,
        "body": submission.body,
        "body_html": body_html,
        "body_hash": fingerprint,
        "status": CommentStatus.PENDING,
        "urgent": urgent,
        "urgent_reasons": found.to_json(),
        "is_staff": False,
        "created_at": now,
        "updated_at": now,
        "ip_hash": ip_hash,
        "notify": submission.notify,
        "erased": False,
        # Blocked spam and auto-approved comments need no moderator mail.
        "notified": screened.status != CommentStatus.PENDING,
        **screened.columns(),
    }
    if not database.is_sqlite and not screened.auto_approved:
        # One round trip on PostgreSQL; an auto-approved post writes more (audit, mail) in
        # its transaction, so it takes the path below.
        comment_id = _admit(database, settings, row, submission.parent_id)
    else:
        comment_id = _store(database, settings, catalog, keyring, article_id, submission,
                            row, screened, now)
    parent_id = row.get("parent_id")
    # A held comment changes nothing the public sees; an auto-approved one touched its
    # thread in after_insert.
    log_write("comment.submitted", comment_id=comment_id, article_id=article_id,
              parent_id=parent_id, urgent=urgent, notify=submission.notify,
              length=len(submission.body))
    if screened.note:
        log_write("comment.screened", comment_id=comment_id, status=screened.status.value,
                  rule=screened.note)
    if screened.auto_approved:
        return SubmitResult(id=comment_id, status=CommentStatus.APPROVED.value,
                            message=i18n.Translator(i18n.current()).gettext(PUBLISHED_MESSAGE))
    return _held(settings, comment_id, urgent)


def _admit(database: Database, settings: Settings, row: dict[str, Any],
           parent_id: int | None) -> int:
    """Store the post on PostgreSQL in one round trip, or say why it was refused."""
    row["parent_id"] = parent_id
    for _attempt in range(2):
        outcome = admission.admit(database, settings, row, parent_id, MAX_DEPTH)
        if outcome > 0:
            return outcome
        if outcome == admission.PARENT_NOT_PUBLIC:
            raise InvalidComment({"parent_id": tr(N_("Reply to: that comment is not published "
                                                      "on this article."))})
        if outcome == admission.DUPLICATE:
            raise duplicate_error()
        with database.read() as session:
            retry_after = spam.rate_limit_retry_after(
                session, row["ip_hash"], settings.rate_limit_count,
                settings.rate_limit_window_seconds, row["created_at"], row["email_hash"],
                settings.rate_limit_address_count,
            )
        if retry_after is not None:
            raise RateLimited(retry_after)
        # The oldest counted post left the window between the two: try once more.
    raise RateLimited(1)


def _store(database: Database, settings: Settings, catalog: Catalog, keyring: Keyring,
           article_id: str, submission: Submission, row: dict[str, Any],
           screened: screening.Screening, now: datetime) -> int:
    """The post's write transaction (SQLite, and an auto-approved post on PostgreSQL)."""
    ip_hash, email_hash, fingerprint = row["ip_hash"], row["email_hash"], row["body_hash"]
    with database.write() as session:
        row["parent_id"], row["depth"] = _resolve_parent(session, article_id,
                                                         submission.parent_id)
        spam.lock_address(session, ip_hash)
        connection = session.connection()
        # Stored only if under the rate limit and not a duplicate, in one statement.
        comment_id = connection.execute(_ADMITTED_INSERT, {
            **row, "limit": settings.rate_limit_count,
            "address_limit": settings.rate_limit_address_count,
            "since": spam.window_start(now, settings.rate_limit_window_seconds),
        }).scalar_one_or_none()
        if comment_id is None:
            # Refused: say why, rate limit first. Nothing else writes this address's rows
            # meanwhile (the lock); were neither check to fail now, the post is stored.
            retry_after = spam.rate_limit_retry_after(
                session, ip_hash, settings.rate_limit_count,
                settings.rate_limit_window_seconds, now, email_hash,
                settings.rate_limit_address_count,
            )
            if retry_after is not None:
                raise RateLimited(retry_after)
            if spam.is_duplicate(session, article_id, fingerprint):
                raise duplicate_error()
            comment_id = connection.execute(_INSERT_COMMENT, row).inserted_primary_key[0]
        screening.after_insert(session, comment_id, article_id, screened,
                               Notifier(settings, keyring, catalog))
    return int(comment_id)


def _held(settings: Settings, comment_id: int, urgent: bool,
          discarded: bool = False) -> SubmitResult:
    """What a reader is told about a comment held for moderation."""
    # The packaged crisis message is a catalogue message; an operator's own text has no
    # entry and reads as written.
    t = i18n.Translator(i18n.current())
    message = t.gettext(PENDING_MESSAGE)
    crisis = None
    if urgent:
        crisis = t.gettext(settings.crisis_message)
        message = f"{crisis}\n\n{message}"
    return SubmitResult(id=comment_id, urgent=urgent, message=message, crisis_message=crisis,
                        discarded=discarded)


def _discard(database: Database, settings: Settings, article_id: str, submission: Submission,
             ip_hash: str, fingerprint: str, urgent: bool, now: datetime,
             email_hash: str | None = None) -> SubmitResult:
    """A honeypot post: refused for what a real post would be refused for, else dropped.

    Nothing is written, but the answer is a real post's: the same parent, rate-limit and
    duplicate errors (against what is stored), and a 202 whose id is the one the comment
    would have been given. That id names no comment, and nothing tells it from a comment
    still pending: a reply to either is refused with the same message (_resolve_parent).
    """
    with database.read() as session:
        _resolve_parent(session, article_id, submission.parent_id)
        retry_after = spam.rate_limit_retry_after(
            session, ip_hash, settings.rate_limit_count, settings.rate_limit_window_seconds,
            now, email_hash, settings.rate_limit_address_count,
        )
        if retry_after is not None:
            raise RateLimited(retry_after)
        if spam.is_duplicate(session, article_id, fingerprint):
            raise duplicate_error()
        unused_id = _unused_comment_id(session)
    log_write("comment.discarded", article_id=article_id, reason="honeypot")
    return _held(settings, unused_id, urgent, discarded=True)


def _unused_comment_id(session: Session) -> int:
    """The id a comment stored now would get. PostgreSQL's sequence hands it out for good
    (the next real comment gets the one after, as if this one had been stored); SQLite
    gives rowid max + 1, so the next real comment reuses it, as after a deleted last row."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(select(func.nextval(
            func.pg_get_serial_sequence("comments", "id")))).scalar_one())
    return int(session.execute(select(func.coalesce(func.max(Comment.id), 0) + 1))
               .scalar_one())


def _resolve_parent(
    session: Session, article_id: str, parent_id: int | None
) -> tuple[int | None, int]:
    """The parent to attach to and the new comment's depth, or InvalidComment."""
    if parent_id is None:
        return None, 0
    parent = session.get(Comment, parent_id)
    # One message whether the comment is missing, elsewhere or not yet approved: a reader
    # can only answer what they can see, and a bot learns nothing about held comments
    # (or about the ids its dropped posts were given).
    if (parent is None or parent.article_id != article_id
            or parent.status != CommentStatus.APPROVED):
        raise InvalidComment({"parent_id": tr(N_("Reply to: that comment is not published "
                                                  "on this article."))})
    while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
        ancestor = session.get(Comment, parent.parent_id)
        if ancestor is None:
            break
        parent = ancestor
    return parent.id, min(parent.depth + 1, MAX_DEPTH)


__all__ = [
    "FIELD_LABELS",
    "MAX_AUTHOR",
    "MAX_BODY",
    "MAX_DEPTH",
    "MAX_EMAIL",
    "MAX_EMAIL_LOCAL",
    "ArticleNotFound",
    "CommentError",
    "CommentsNotOpen",
    "DuplicateComment",
    "InvalidComment",
    "RateLimited",
    "Refused",
    "Submission",
    "SubmitResult",
    "require_open_article",
    "submit",
    "validate_submission",
]
