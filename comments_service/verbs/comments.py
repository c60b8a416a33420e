"""The verbs on readers' comments: validate one and submit it for moderation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from comments_service.articles.article import Article
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.logs import log_write
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs import spam, urgency
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.render import normalize_newlines, render_comment

MAX_AUTHOR = 80
MAX_BODY = 5000
MAX_EMAIL = 254
# Depth 0 is a top-level comment; replies nest down to depth 3. A reply to a depth-3
# comment attaches to that comment's depth-2 parent (its level-3 ancestor), landing beside it.
MAX_DEPTH = 3

FIELD_LABELS = {
    "author": "Name",
    "email": "Email",
    "body": "Comment",
    "parent_id": "Reply to",
    "notify": "Notify me",
    "accept_terms": "Terms",
    "website": "Website",
    "request": "Request body",
}

# Core, not the ORM unit of work: a post inserts one row and needs back only its id.
_INSERT_COMMENT = insert(Comment.__table__)
# The same row, stored only when spam.ADMISSION holds: INSERT ... SELECT <the values>
# WHERE <under the rate limit and not a duplicate> RETURNING id.
_ADMITTED_COLUMNS = ("article_id", "parent_id", "depth", "author_name", "email_encrypted",
                     "email_hash", "body", "body_html", "body_hash", "status", "urgent",
                     "is_staff", "created_at", "updated_at", "ip_hash", "notify", "erased",
                     "notified")
_ADMITTED_INSERT = (
    insert(Comment.__table__)
    .from_select(
        _ADMITTED_COLUMNS,
        select(*(bindparam(name, type_=Comment.__table__.c[name].type)
                 for name in _ADMITTED_COLUMNS)).where(spam.ADMISSION),
    )
    .returning(Comment.__table__.c.id)
)

PENDING_MESSAGE = (
    "Thank you. Your comment was received and is awaiting moderation; it will appear once "
    "a moderator has approved it."
)


# Errors ----------------------------------------------------------------------------------


class CommentError(Exception):
    """A comment the service refuses, with an HTTP-like status and a message per field."""

    status_code = 400

    def __init__(self, detail: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, str] = dict(errors or {})


class InvalidComment(CommentError):
    status_code = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        labels = ", ".join(FIELD_LABELS.get(name, name) for name in errors)
        super().__init__(f"Please correct: {labels}.", errors)


class ArticleNotFound(CommentError):
    status_code = 404


class CommentsNotOpen(CommentError):
    status_code = 403


class DuplicateComment(CommentError):
    status_code = 409


class RateLimited(CommentError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"You have posted several comments in a short time. Please try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        )
        self.retry_after = retry_after


# Validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A reader's comment after validation: clean text, ready to store."""

    author: str
    email: str
    body: str
    parent_id: int | None = None
    notify: bool = False


# Control characters (Unicode category Cc, NUL included) and lone surrogates (Cs); format
# characters such as the zero-width joiner in emoji and right-to-left marks are legitimate.
_BAD_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_characters(text: str, allowed: str = "") -> bool:
    if not allowed:
        return _BAD_CHARACTER.search(text) is not None
    return any(ch not in allowed for ch in _BAD_CHARACTER.findall(text))


def validate_submission(data: Mapping[str, Any]) -> Submission:
    """Check a reader's fields, raising InvalidComment with one message per bad field.

    ``data`` holds typed values (str, int or None, bool); the web layer converts form
    strings first. Text is NFC-normalised and otherwise kept exactly as typed.
    """
    errors: dict[str, str] = {}

    author_raw = data.get("author")
    author = ""
    if author_raw is None or (isinstance(author_raw, str) and not author_raw.strip()):
        errors["author"] = "Name is required."
    elif not isinstance(author_raw, str):
        errors["author"] = "Name must be text."
    else:
        author = unicodedata.normalize("NFC", author_raw.strip())
        if _bad_characters(author):
            errors["author"] = "Name must not contain control characters or line breaks."
        elif len(author) > MAX_AUTHOR:
            errors["author"] = f"Name must be at most {MAX_AUTHOR} characters."

    email_raw = data.get("email")
    email = ""
    if email_raw is None or (isinstance(email_raw, str) and not email_raw.strip()):
        errors["email"] = "Email is required."
    elif not isinstance(email_raw, str):
        errors["email"] = "Email must be text."
    elif "\r" in email_raw or "\n" in email_raw:
        errors["email"] = "Email must not contain line breaks."
    else:
        candidate = email_raw.strip()
        if _bad_characters(candidate) or len(candidate) > MAX_EMAIL:
            errors["email"] = "Email is not a valid address."
        else:
            try:
                # No DNS look-up: the service must answer without the network, and mail
                # confirmation (double opt-in) proves the address anyway.
                checked = validate_email(candidate, check_deliverability=False)
                email = checked.normalized
            except EmailNotValidError:
                errors["email"] = "Email is not a valid address (for example name@example.org)."

    body_raw = data.get("body")
    body = ""
    if body_raw is None or (isinstance(body_raw, str) and not body_raw.strip()):
        errors["body"] = "Comment is required."
    elif not isinstance(body_raw, str):
        errors["body"] = "Comment must be text."
    else:
        body = unicodedata.normalize("NFC", normalize_newlines(body_raw).strip())
        if _bad_characters(body, allowed="\n\t"):
            errors["body"] = "Comment must not contain control characters."
        elif len(body) > MAX_BODY:
            errors["body"] = (
                f"Comment must be at most {MAX_BODY:,} characters (it has {len(body):,})."
            )

    parent_raw = data.get("parent_id")
    parent_id: int | None = None
    if parent_raw is not None:
        if isinstance(parent_raw, bool) or not isinstance(parent_raw, int) or parent_raw < 1:
            errors["parent_id"] = "Reply to must name an existing comment."
        else:
            parent_id = parent_raw

    notify = data.get("notify", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        errors["notify"] = "Notify me must be true or false."

    if data.get("accept_terms") is not True:
        errors["accept_terms"] = "Please accept the terms of use to post a comment."

    if errors:
        raise InvalidComment(errors)
    return Submission(author=author, email=email, body=body, parent_id=parent_id,
                      notify=bool(notify))


# Submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    """What the reader is told: the new comment's id (None when silently discarded)."""

    id: int | None
    status: str = CommentStatus.PENDING.value
    urgent: bool = False
    message: str = PENDING_MESSAGE
    crisis_message: str | None = None
    discarded: bool = field(default=False, repr=False)


def require_open_article(catalog: Catalog, article_id: str) -> Article:
    """The article, if it exists and takes comments; else ArticleNotFound or CommentsNotOpen."""
    article = catalog.get(article_id)
    if article is None:
        raise ArticleNotFound(f"There is no article with id '{article_id}'.")
    if article.comments != "open":
        raise CommentsNotOpen(f"Comments are {article.comments} on this article.")
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
) -> SubmitResult:
    """Store a reader's comment as pending (one transaction), or raise a CommentError.

    Order: the article must exist and be open; a filled honeypot is accepted and dropped
    without storing; then fields, links, parent, rate limit and duplicates are checked.
    Urgent comments are flagged and the reader gets the crisis message at once; the flag
    never publishes or rejects anything.
    """
    now = now or utcnow()
    require_open_article(catalog, article_id)
    ip_hash = keyring.ip_hash(client_ip)
    if spam.honeypot_tripped(data.get(spam.HONEYPOT_FIELD)):
        log_write("comment.discarded", article_id=article_id, reason="honeypot")
        return SubmitResult(id=None, discarded=True)

    submission = validate_submission(data)
    if spam.count_links(submission.body) > settings.max_links:
        raise InvalidComment(
            {"body": f"Comment may contain at most {settings.max_links} links."}
        )
    urgent = urgency.is_urgent(submission.body, settings.urgent_terms) or urgency.is_urgent(
        submission.author, settings.urgent_terms
    )
    fingerprint = spam.body_fingerprint(submission.body)
    body_html = render_comment(submission.body)
    # Everything that needs no database is done before the write lock is taken.
    email_encrypted = keyring.encrypt_email(submission.email)
    email_hash = keyring.email_hash(submission.email)

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
        "is_staff": False,
        "created_at": now,
        "updated_at": now,
        "ip_hash": ip_hash,
        "notify": submission.notify,
        "erased": False,
        "notified": False,
    }
    with database.write() as session:
        row["parent_id"], row["depth"] = _resolve_parent(session, article_id,
                                                         submission.parent_id)
        spam.lock_address(session, ip_hash)
        connection = session.connection()
        # Stored only if under the rate limit and not a duplicate, in one statement.
        comment_id = connection.execute(_ADMITTED_INSERT, {
            **row, "limit": settings.rate_limit_count,
            "since": spam.window_start(now, settings.rate_limit_window_seconds),
        }).scalar_one_or_none()
        if comment_id is None:
            # Refused: say why, rate limit first. Nothing else writes this address's rows
            # meanwhile (the lock); were neither check to fail now, the post is stored.
            retry_after = spam.rate_limit_retry_after(
                session, ip_hash, settings.rate_limit_count,
                settings.rate_limit_window_seconds, now,
            )
            if retry_after is not None:
                raise RateLimited(retry_after)
            if spam.is_duplicate(session, article_id, fingerprint):
                raise DuplicateComment(
                    "This comment has already been posted on this article.",
                    {"body": "You have already posted this comment here; it is awaiting "
                             "moderation or already published."},
                )
            comment_id = connection.execute(_INSERT_COMMENT, row).inserted_primary_key[0]
    parent_id = row["parent_id"]
    # Pending comments change nothing the public sees, so no touch_thread here.
    log_write("comment.submitted", comment_id=comment_id, article_id=article_id,
              parent_id=parent_id, urgent=urgent, notify=submission.notify,
              length=len(submission.body))
    message = PENDING_MESSAGE
    crisis = None
    if urgent:
        crisis = settings.crisis_message
        message = f"{crisis}\n\n{PENDING_MESSAGE}"
    return SubmitResult(id=comment_id, urgent=urgent, message=message, crisis_message=crisis)


def _resolve_parent(
    session: Session, article_id: str, parent_id: int | None
) -> tuple[int | None, int]:
    """The parent to attach to and the new comment's depth, or InvalidComment."""
    if parent_id is None:
        return None, 0
    parent = session.get(Comment, parent_id)
    if parent is None or parent.article_id != article_id:
        raise InvalidComment({"parent_id": "Reply to: that comment does not exist on this "
                                           "article."})
    if parent.status != CommentStatus.APPROVED:
        raise InvalidComment({"parent_id": "Reply to: that comment is not published."})
    while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
        ancestor = session.get(Comment, parent.parent_id)
        if ancestor is None:
            break
        parent = ancestor
    return parent.id, min(parent.depth + 1, MAX_DEPTH)
