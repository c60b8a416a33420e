"""Tables of the comments service (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type; without this, values come back naive and compare wrongly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    DELETED = "deleted"


class StaffRole(enum.StrEnum):
    MODERATOR = "moderator"
    ADMIN = "admin"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    signature: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[StaffRole] = mapped_column(
        Enum(StaffRole, native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e])
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # IANA zone staff pages show this account's times in; "" = COMMENTS_STAFFED_TIMEZONE.
    time_zone: Mapped[str] = mapped_column(String(64), default="", server_default="")


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_article_status_created", "article_id", "status", "created_at"),
        Index("ix_comments_status_urgent_created", "status", "urgent", "created_at"),
        Index("ix_comments_ip_hash_created", "ip_hash", "created_at"),
        Index("ix_comments_email_hash", "email_hash"),
        Index("ix_comments_notified", "notified"),
        # The staff queue's newest-first tabs; without it each page sorts the table.
        Index("ix_comments_created_id", "created_at", "id"),
        # The pending queue in its order (urgent first, then oldest), read without a sort.
        # Migration 0012 creates urgent DESC (the queue's order); reflection compares names.
        # The trailing spam score (0015) lets the pending and likely-spam tabs count and
        # skip likely spam from the index alone, without fetching each pending row.
        Index("ix_comments_queue", "status", "urgent", "created_at", "id", "spam_score"),
        # Duplicate-body check on every post; without it that check scans the article.
        Index("ix_comments_article_body_hash", "article_id", "body_hash"),
        # One row per comment of another system, so importing an export twice adds nothing.
        Index("ux_comments_source", "source_system", "source_id", unique=True),
        # A thread's page reads its replies by parent (verbs/thread_query.py).
        Index("ix_comments_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    author_name: Mapped[str] = mapped_column(String(80))
    # Fernet token of the address; never shown publicly, decrypted only for staff and mail.
    email_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Keyed hash (HMAC) of the normalised address, for look-ups without decrypting.
    email_hash: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Hash of the body for duplicate detection per article.
    body_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[CommentStatus] = mapped_column(
        Enum(CommentStatus, native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=CommentStatus.PENDING,
    )
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the detector flagged it, as JSON [[category, matched text], ...]; kept when staff
    # mark the flag a false alarm, so the audit trail can show what was dismissed.
    urgent_reasons: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    # A short staff note ("mentions self-harm"); the page folds the text behind it. "" = none.
    content_note: Mapped[str] = mapped_column(String(80), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the author's data was erased; approved text kept shows "Former reader".
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    # False until the notification worker has queued this comment's submission mails
    # (moderator alert or digest, opt-in confirmation), so no mail is sent twice.
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a comment imported from another system: which ("wordpress", "disqus", "isso")
    # and its id there. None for comments made here.
    source_system: Mapped[str | None] = mapped_column(String(16), nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The local spam classifier's probability at submit time (or last rescore); None while
    # it has too few staff decisions to say anything. Reasons: JSON list of phrases.
    spam_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    spam_reasons: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Which blocklist rule or trust rule decided this comment's status at submit, for staff.
    screening_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Set when reader reports took an approved comment off the page pending review;
    # dismissing the reports publishes it again (verbs/reports.py).
    hidden_by_reports: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default="0")
    # False until the worker has queued this comment's pending/urgent webhook events
    # (apart from notified: moderator mail waits for the digest, webhooks do not).
    webhooks_queued: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    staff_user: Mapped[StaffUser | None] = relationship(lazy="joined")


class ThreadVersion(Base):
    """A counter per article, bumped by every write that can change its public thread.

    Caches in any process compare against it, so a write in one process invalidates the
    cached JSON in all of them.
    """

    __tablename__ = "thread_versions"

    article_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleCount(Base):
    """How many approved comments an article has, for /api/counts.

    Kept exact by triggers on comments (migration 0014), so no verb writes it; an article
    without a row has none.
    """

    __tablename__ = "article_counts"

    article_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    approved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    # SHA-256 of the cookie value, so a leaked database does not leak live sessions.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff_user: Mapped[StaffUser] = relationship(lazy="joined")


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_created", "key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "user:<username>" or "ip:<ip hash>"
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_comment", "comment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    # Who acted when no staff user did, e.g. "cli:root" or "system".
    actor: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff_user: Mapped[StaffUser | None] = relationship(lazy="joined")


class ReplyTemplate(Base):
    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailSubscriber(Base):
    """The double opt-in state of one email address (by keyed hash)."""

    __tablename__ = "email_subscribers"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMail(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Fernet token of the recipient address: the outbox holds no plain email either.
    recipient_encrypted: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str] = mapped_column(Text, default="")
    # "mail", or "webhook": then body is the JSON payload, endpoint the configured
    # endpoint's name (its URL and secret stay in the settings), recipient_encrypted "".
    channel: Mapped[str] = mapped_column(String(16), default="mail", server_default="mail")
    endpoint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # pending, sent, failed (gave up), cancelled (the address unsubscribed)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BakeRequest(Base):
    """An article whose baked page is stale; the service's baker drains these."""

    __tablename__ = "bake_requests"

    article_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentsPause(Base):
    """The site-wide pause switch: one row (id 1); no row means comments are not paused.

    In the database so every worker process, the CLI and the baker see the same state.
    """

    __tablename__ = "comments_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Shown to readers in place of the form; "" means the standard sentence.
    message: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(120), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpamFeature(Base):
    """How many comments staff approved (ham) or refused (spam) carried one feature."""

    __tablename__ = "spam_features"

    feature: Mapped[str] = mapped_column(String(120), primary_key=True)
    spam: Mapped[int] = mapped_column(Integer, default=0)
    ham: Mapped[int] = mapped_column(Integer, default=0)


class SpamModelState(Base):
    """One row (id 1) whose ``version`` every lesson bumps, so processes know to reload."""

    __tablename__ = "spam_model_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class SpamTraining(Base):
    """A comment the classifier learned from: its label and the exact features counted,
    so a changed or undone decision takes back precisely what it added."""

    __tablename__ = "spam_training"

    comment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(8))
    features: Mapped[str] = mapped_column(Text)


class Block(Base):
    """A blocklist rule set by an admin: what it matches and what it does to a post."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ux_blocks_kind_value", "kind", "value", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # email | domain | network | phrase
    kind: Mapped[str] = mapped_column(String(16))
    # email: keyed hash; network: "4/24:<keyed hash>"; domain and phrase: normalised text.
    value: Mapped[str] = mapped_column(String(200))
    # What staff see: a masked address, the prefix length of a network, the domain, the phrase.
    label: Mapped[str] = mapped_column(String(200))
    # hold | spam | refuse
    action: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrustRevoked(Base):
    """A commenter (by email keyed hash) whose comments always wait for a moderator."""

    __tablename__ = "trust_revoked"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_by: Mapped[str] = mapped_column(String(120), default="")
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentReport(Base):
    """A reader's report of a published comment, and the staff decision on it.

    Holds what the EU Digital Services Act (Art. 16-17) asks a host to keep for a notice:
    the reason and explanation, when it came, the decision, when it was taken and the
    statement of reasons given. The reporter's name and address are optional.
    """

    __tablename__ = "comment_reports"
    __table_args__ = (
        Index("ix_comment_reports_comment_status", "comment_id", "status"),
        Index("ix_comment_reports_ip_hash_created", "ip_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    # harmful, harassment, personal_info, spam, illegal, other (verbs/reports.py REASONS)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    reporter_name: Mapped[str] = mapped_column(String(80), default="")
    # Fernet token, as for comments; "" when the reporter gave none.
    reporter_email_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Keyed hash of that address, so privacy export and erasure find the reports too.
    reporter_email_hash: Mapped[str] = mapped_column(String(64), default="")
    # Keyed hash of the reporter's IP, for the rate limit; purged with the others.
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # open, dismissed, upheld
    status: Mapped[str] = mapped_column(String(16), default="open")
    # "" while open; dismissed, rejected or deleted (what was done to the comment)
    decision: Mapped[str] = mapped_column(String(16), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(120), default="")
    # The statement of reasons staff gave with the decision (DSA Art. 17).
    statement_of_reasons: Mapped[str] = mapped_column(Text, default="")
