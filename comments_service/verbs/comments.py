"""The verbs on readers' comments: validate one and submit it for moderation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.articles.article import Article
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.logs import log_write
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs import admission, closing, screening, spam, urgency
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import Notifier
from comments_service.verbs.render import normalize_newlines, render_comment
from comments_service.verbs.visible_text import is_blank

MAX_AUTHOR = 80
MAX_BODY = 5000
MAX_EMAIL = 254
MAX_EMAIL_LOCAL = 64
# Depth 0 is a top-level comment; replies nest down to depth 3. A reply to a depth-3
# comment attaches to that comment's depth-2 parent (its level-3 ancestor), landing beside it.
MAX_DEPTH = 3

FIELD_LABELS = i18n.Messages({
    "author": N_("Name"),
    "email": N_("Email"),
    "body": N_("Comment"),
    "parent_id": N_("Reply to"),
    "notify": N_("Notify me"),
    "accept_terms": N_("Terms"),
    "website": N_("Website"),
    "request": N_("Request body"),
})


def _t(message: str, **variables: Any) -> str:
    """A message id (marked with N_) in the language in force, %(name)s filled in."""
    return i18n.Translator(i18n.current()).gettext(message, **variables)

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

_DUPLICATE = (
    N_("This comment has already been posted on this article."),
    N_("You have already posted this comment here; it is awaiting moderation or "
       "already published."),
)
# Message ids: readers get them in the service's language (i18n.current()).
PENDING_MESSAGE = N_(
    "Thank you. Your comment was received and is awaiting moderation; it will appear once "
    "a moderator has approved it."
)
PUBLISHED_MESSAGE = N_("Thank you. Your comment is published.")


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
        super().__init__(_t(N_("Please correct: %(labels)s."), labels=labels), errors)


class ArticleNotFound(CommentError):
    status_code = 404


class CommentsNotOpen(CommentError):
    status_code = 403


class DuplicateComment(CommentError):
    status_code = 409


def _duplicate() -> DuplicateComment:
    """The refusal of a comment already posted, in the language in force."""
    detail, body = _DUPLICATE
    return DuplicateComment(_t(detail), {"body": _t(body)})


class Refused(CommentError):
    """A post a blocklist rule refuses; the sentence must not say that a block exists."""

    status_code = 422

    def __init__(self) -> None:
        super().__init__(_t(N_("Sorry, this comment cannot be posted.")))


class RateLimited(CommentError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(i18n.Translator(i18n.current()).ngettext(
            "You have posted several comments in a short time. Please try again in about "
            "%(num)d minute.",
            "You have posted several comments in a short time. Please try again in about "
            "%(num)d minutes.", minutes))
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
    if author_raw is None or author_raw == "":
        errors["author"] = _t(N_("Name is required."))
    elif isinstance(author_raw, str) and is_blank(author_raw):
        errors["author"] = _t(N_("Name must not be blank."))
    elif not isinstance(author_raw, str):
        errors["author"] = _t(N_("Name must be text."))
    else:
        author = unicodedata.normalize("NFC", author_raw.strip())
        if _bad_characters(author):
            errors["author"] = _t(N_("Name must not contain control characters or line breaks."))
        elif len(author) > MAX_AUTHOR:
            errors["author"] = _t(N_("Name must be at most %(max)s characters."), max=MAX_AUTHOR)

    email_raw = data.get("email")
    email = ""
    if email_raw is None or (isinstance(email_raw, str) and not email_raw.strip()):
        errors["email"] = _t(N_("Email is required."))
    elif not isinstance(email_raw, str):
        errors["email"] = _t(N_("Email must be text."))
    elif "\r" in email_raw or "\n" in email_raw:
        errors["email"] = _t(N_("Email must not contain line breaks."))
    else:
        candidate = email_raw.strip()
        if _bad_characters(candidate) or len(candidate) > MAX_EMAIL:
            errors["email"] = _t(N_("Email is not a valid address."))
        elif len(candidate.rpartition("@")[0].encode("utf-8")) > MAX_EMAIL_LOCAL:
            # RFC 5321's limit, which email_validator leaves to its callers.
            errors["email"] = _t(N_("Email is not a valid address: the part before the @ may "
                                    "be at most %(max)s characters."), max=MAX_EMAIL_LOCAL)
        else:
            try:
                # No DNS look-up: the service must answer without the network, and mail
                # confirmation (double opt-in) proves the address anyway.
                checked = validate_email(candidate, check_deliverability=False)
                email = checked.normalized
            except EmailNotValidError:
                errors["email"] = _t(N_("Email is not a valid address (for example "
                                        "name@example.org)."))

    body_raw = data.get("body")
    body = ""
    if body_raw is None or body_raw == "":
        errors["body"] = _t(N_("Comment is required."))
    elif isinstance(body_raw, str) and is_blank(body_raw):
        errors["body"] = _t(N_("Comment must not be blank."))
    elif not isinstance(body_raw, str):
        errors["body"] = _t(N_("Comment must be text."))
    else:
        body = unicodedata.normalize("NFC", normalize_newlines(body_raw).strip())
        if _bad_characters(body, allowed="\n\t"):
            errors["body"] = _t(N_("Comment must not contain control characters."))
        elif len(body) > MAX_BODY:
            errors["body"] = _t(N_("Comment must be at most %(max)s characters (it has "
                                   "%(has)s)."), max=f"{MAX_BODY:,}", has=f"{len(body):,}")

    parent_raw = data.get("parent_id")
    parent_id: int | None = None
    if parent_raw is not None:
        if not storable_id(parent_raw):
            errors["parent_id"] = _t(N_("Reply to must name an existing comment."))
        else:
            parent_id = parent_raw

    notify = data.get("notify", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        errors["notify"] = _t(N_("Notify me must be true or false."))

    if data.get("accept_terms") is not True:
        errors["accept_terms"] = _t(N_("Please accept the terms of use to post a comment."))

    if errors:
        raise InvalidComment(errors)
    return Submission(author=author, email=email, body=body, parent_id=parent_id,
                      notify=bool(notify))


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
        raise ArticleNotFound(_t(N_("There is no article with id '%(id)s'."), id=article_id))
    if article.comments != "open":
        raise CommentsNotOpen(_t(N_("Comments are %(state)s on this article."),
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
) -> SubmitResult:
    """Store a reader's comment as pending (one transaction), or raise a CommentError.

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
            {"body": _t(N_("Comment may contain at most %(max)s links."),
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
                                author=submission.author, body=submission.body, urgent=urgent)
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
            raise InvalidComment({"parent_id": _t(N_("Reply to: that comment is not published "
                                                      "on this article."))})
        if outcome == admission.DUPLICATE:
            raise _duplicate()
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
                raise _duplicate()
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
            raise _duplicate()
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
        raise InvalidComment({"parent_id": _t(N_("Reply to: that comment is not published "
                                                  "on this article."))})
    while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
        ancestor = session.get(Comment, parent.parent_id)
        if ancestor is None:
            break
        parent = ancestor
    return parent.id, min(parent.depth + 1, MAX_DEPTH)
