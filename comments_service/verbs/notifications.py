"""Which mail is queued when: double opt-in for commenters, moderator alerts, mail links.

Every mail is first a row in the outbox, written in the same transaction as the change
that caused it; ``outbox`` sends it later with retries, so a down mail server loses
nothing and never slows a request.

When ``smtp_host`` is empty nothing is queued at all: approvals and replies queue no mail,
and the submission scan marks comments as handled without queuing anything. Turning SMTP
on later therefore does not flood moderators with stale alerts or send old confirmations.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.articles.article import Article
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import (
    Comment,
    CommentStatus,
    EmailSubscriber,
    OutboxMail,
    utcnow,
)
from comments_service.verbs import on_call, outcome_mail, webhook_config, webhooks
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.withdrawal import withdraw_path

log = logging.getLogger("comments_service.notify")

SCAN_BATCH = 500
_SCAN_LOCK_ID = 7283402

KIND_URGENT = "moderator_urgent"
KIND_DIGEST = "moderator_digest"
KIND_CONFIRM = "confirm_subscription"
KIND_APPROVED = "comment_approved"
KIND_REPLY = "reply_published"
KIND_REJECTED = "comment_rejected"
KIND_PRIVATE_REPLY = "private_reply"


class ArticleLookup(Protocol):
    """Anything with ``get(article_id) -> Article | None``, such as catalog.Catalog."""

    def get(self, article_id: str) -> Article | None: ...


def _sign(keyring: Keyring, purpose: str, email_hash: str) -> str:
    mac = hmac.new(keyring.signing_key, f"{purpose}:{email_hash}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def make_token(keyring: Keyring, purpose: str, email_hash: str) -> str:
    """A signed token naming an address by its keyed hash, for links in mail."""
    return f"{email_hash}.{_sign(keyring, purpose, email_hash)}"


def read_token(keyring: Keyring, purpose: str, token: str) -> str | None:
    """The email hash a token names, or None when it is malformed or not signed by us."""
    email_hash, _, signature = (token or "").partition(".")
    if len(email_hash) != 64 or not signature:
        return None
    expected = _sign(keyring, purpose, email_hash)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return email_hash


def one_line(value: str, limit: int = 180) -> str:
    # Header values come partly from front matter; never let a line break reach a header.
    return " ".join(value.split())[:limit]


class Notifier:
    """Queues mails. Called inside the transaction of the change that causes the mail."""

    def __init__(self, settings: Settings, keyring: Keyring,
                 articles: ArticleLookup | None = None) -> None:
        self.settings = settings
        self.keyring = keyring
        self.articles = articles
        # Mails are written in the service's language (COMMENTS_LANGUAGE, else the site's).
        self.t = i18n.Translator(i18n.resolve(settings.language, settings.site_dir))

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    @property
    def hooks_enabled(self) -> bool:
        """Whether any webhook endpoint is configured (they work without SMTP too)."""
        return bool(webhook_config.running_endpoints(self.settings))

    def webhook_event(self, session: Session, name: str, comment: Comment,
                      report_id: int | None = None, report_reason: str = "",
                      open_reports: int = 0, now: datetime | None = None) -> None:
        """Queue a webhook event about a comment, in the caller's transaction.

        The event carries ids, the article's title and links only: never the text, the
        author's name or address.
        """
        if not self.hooks_enabled:
            return
        title, url = self._article(comment.article_id)
        webhooks.queue(session, self.settings, webhooks.Event(
            name=name, comment_id=comment.id, article_id=comment.article_id,
            article_title=title, article_url=url, status=comment.status.value,
            urgent=comment.urgent, staff_url=self.service_link(f"/staff/comments/{comment.id}"),
            report_id=report_id, report_reason=report_reason, open_reports=open_reports), now)

    def _submission_webhook(self, session: Session, comment: Comment, now: datetime) -> None:
        # Apart from `notified`: a pending comment waits for the mail digest, not for this.
        if comment.webhooks_queued:
            return
        comment.webhooks_queued = True
        if comment.status == CommentStatus.PENDING:
            self.webhook_event(session, webhooks.EVENT_URGENT if comment.urgent
                               else webhooks.EVENT_PENDING, comment, now=now)

    # Links ----------------------------------------------------------------------------

    def service_link(self, path: str) -> str:
        return f"{self.settings.public_service_url}{path}"

    def unsubscribe_link(self, email_hash: str) -> str:
        token = make_token(self.keyring, "unsubscribe", email_hash)
        return self.service_link(f"/mail/unsubscribe?token={quote(token)}")

    def confirm_link(self, email_hash: str) -> str:
        token = make_token(self.keyring, "confirm", email_hash)
        return self.service_link(f"/mail/confirm?token={quote(token)}")

    def withdraw_link(self, comment_id: int) -> str:
        """The signed link a commenter follows to withdraw one comment, no account needed."""
        return self.service_link(withdraw_path(self.keyring, comment_id))

    def article_of(self, article_id: str) -> tuple[str, str]:
        """An article's title and public URL, for mail text (placeholders when unknown)."""
        return self._article(article_id)

    def _article(self, article_id: str) -> tuple[str, str]:
        article = self.articles.get(article_id) if self.articles else None
        site = self.settings.site_url.rstrip("/")
        if article is None:
            return "an article", site + "/"
        return article.title, f"{site}/{article.url_path}"

    # Queuing --------------------------------------------------------------------------

    def _enqueue(self, session: Session, kind: str, recipient_encrypted: str,
                 email_hash: str, subject: str, body: str) -> None:
        unsubscribe = self.unsubscribe_link(email_hash)
        footer = (
            "\n\n--\nYou get this mail because of a choice made on our site. "
            f"To get no more mail from us, open: {unsubscribe}\n"
        )
        session.add(OutboxMail(
            kind=kind, recipient_encrypted=recipient_encrypted, subject=one_line(subject),
            body=body + footer, unsubscribe_url=unsubscribe, status="pending", attempts=0,
            next_attempt_at=utcnow(), last_error=""))

    @staticmethod
    def _subscriber(session: Session, email_hash: str) -> EmailSubscriber | None:
        return session.get(EmailSubscriber, email_hash)

    def _may_mail_commenter(self, session: Session, comment: Comment) -> bool:
        if not self.enabled or comment.is_staff or comment.erased or not comment.notify:
            return False
        if not comment.email_hash or not comment.email_encrypted:
            return False
        subscriber = self._subscriber(session, comment.email_hash)
        return subscriber is not None and subscriber.confirmed and not subscriber.unsubscribed

    def comment_approved(self, session: Session, comment: Comment) -> None:
        """Tell an opted-in, confirmed commenter that their comment is published (and the
        webhooks that want approvals)."""
        if not comment.is_staff:
            self.webhook_event(session, webhooks.EVENT_APPROVED, comment)
        if not self._may_mail_commenter(session, comment):
            return
        title, url = self._article(comment.article_id)
        link = f"{url}#comment-{comment.id}"
        self._enqueue(
            session, KIND_APPROVED, comment.email_encrypted, comment.email_hash,
            self.t.gettext("Your comment on %(title)s is published", title=title),
            self.t.gettext(
                "Hello,\n\nyour comment on \u201c%(title)s\u201d has been published:\n"
                "%(link)s\n\nThank you for taking part.\n\n"
                "If you change your mind, you can withdraw your comment at any time:\n"
                "%(withdraw)s", title=title, link=link,
                withdraw=self.withdraw_link(comment.id)),
        )

    def comment_rejected(self, session: Session, comment: Comment, reason: str = "") -> None:
        """Tell an opted-in, confirmed commenter, kindly, that their comment is not published.

        ``reason`` is a key of outcome_mail.REJECTION_REASONS, or "" for none. Never called
        for spam.
        """
        if not self._may_mail_commenter(session, comment):
            return
        title, _ = self._article(comment.article_id)
        subject, body = outcome_mail.rejection_note(
            self.settings, comment.author_name, title, reason, self.withdraw_link(comment.id))
        self._enqueue(session, KIND_REJECTED, comment.email_encrypted, comment.email_hash,
                      subject, body)

    def mail_author(self, session: Session, kind: str, comment: Comment, subject: str,
                    body: str) -> None:
        """Queue a mail to a comment's author whatever their opt-in (staff writing to them).

        The caller checks that the author has an address and has not unsubscribed.
        """
        self._enqueue(session, kind, comment.email_encrypted, comment.email_hash, subject, body)

    def unsubscribed(self, session: Session, email_hash: str) -> bool:
        """Whether the address asked for no mail at all from us."""
        subscriber = self._subscriber(session, email_hash)
        return subscriber is not None and subscriber.unsubscribed

    def reply_published(self, session: Session, reply: Comment, parent: Comment) -> None:
        """Tell an opted-in parent author that a published reply answers them."""
        if reply.status != CommentStatus.APPROVED or parent.status != CommentStatus.APPROVED:
            return
        if not self._may_mail_commenter(session, parent):
            return
        if reply.email_hash and reply.email_hash == parent.email_hash:
            return
        title, url = self._article(parent.article_id)
        body = (i18n.N_("Hello,\n\nOur team has replied to your comment on \u201c%(title)s\u201d:"
                        "\n%(link)s") if reply.is_staff else
                i18n.N_("Hello,\n\nSomeone has replied to your comment on \u201c%(title)s\u201d:"
                        "\n%(link)s"))
        link = f"{url}#comment-{reply.id}"
        self._enqueue(
            session, KIND_REPLY, parent.email_encrypted, parent.email_hash,
            self.t.gettext("A reply to your comment on %(title)s", title=title),
            self.t.gettext(body, title=title, link=link),
        )

    def _request_confirmation(self, session: Session, comment: Comment, now: datetime) -> None:
        # One confirmation per address, ever, until its link is followed: nobody can use
        # our form to send a stranger more than that one mail.
        subscriber = self._subscriber(session, comment.email_hash)
        if subscriber is None:
            subscriber = EmailSubscriber(email_hash=comment.email_hash, confirmed=False,
                                         unsubscribed=False, created_at=now)
            session.add(subscriber)
        if subscriber.confirmed or subscriber.unsubscribed or subscriber.confirmation_sent_at:
            return
        subscriber.confirmation_sent_at = now
        link = self.confirm_link(comment.email_hash)
        self._enqueue(
            session, KIND_CONFIRM, comment.email_encrypted, comment.email_hash,
            self.t.gettext("Please confirm you want mail about your comments"),
            self.t.gettext(
                "Hello,\n\nsomeone, probably you, asked to be told by mail when a comment "
                "written with this address is published or answered.\n\n"
                "To confirm, open this link and press the button:\n%(link)s\n\n"
                "If it was not you, ignore this mail: you will get nothing more from us.\n\n"
                "If you wrote the comment and change your mind, you can withdraw it at any "
                "time:\n%(withdraw)s", link=link, withdraw=self.withdraw_link(comment.id)),
        )

    def _moderators(self, session: Session) -> list[tuple[str, str]]:
        recipients = []
        for address in dict.fromkeys(self.settings.moderator_emails):
            email_hash = self.keyring.email_hash(address)
            subscriber = self._subscriber(session, email_hash)
            if subscriber is not None and subscriber.unsubscribed:
                continue
            recipients.append((address, email_hash))
        return recipients

    def _mail_moderators(self, session: Session, kind: str, subject: str, body: str) -> None:
        if not self.enabled:
            return  # scanning for webhooks only
        for address, email_hash in self._moderators(session):
            self._enqueue(session, kind, self.keyring.encrypt_email(address), email_hash,
                          subject, body)

    def scan_submissions(self, database: Database, now: datetime | None = None) -> int:
        """Queue the mails new comments call for; returns how many comments were handled.

        Urgent pending comments alert moderators at once; other pending comments wait for
        a digest, sent at most every ``digest_minutes``. Moderator mails carry only links
        into the staff queue: no comment text, email or IP.
        """
        now = now or utcnow()
        # A cheap read first: most rounds find nothing, and need not take the write lock.
        with database.read() as session:
            if session.scalar(select(Comment.id).where(Comment.notified.is_(False)).limit(1)) \
                    is None:
                return 0
        with database.write() as session:
            if not database.is_sqlite and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _SCAN_LOCK_ID}
            ):
                return 0  # another process is scanning right now
            if not self.enabled and not self.hooks_enabled:
                # No mail to queue: one statement, not hundreds of rows through the ORM (a
                # busy site posts faster than batches of SCAN_BATCH drain, and loading them
                # stalled the worker's requests for a quarter of a second).
                marked = session.execute(
                    update(Comment).where(Comment.notified.is_(False)).values(notified=True)
                    .execution_options(synchronize_session=False))
                return int(marked.rowcount or 0)
            comments = list(session.scalars(
                select(Comment).where(Comment.notified.is_(False))
                .order_by(Comment.created_at, Comment.id).limit(SCAN_BATCH)))
            handled = 0
            waiting = []
            for comment in comments:
                self._submission_webhook(session, comment, now)
                # A comment already refused (spam, rejected) does not earn its address a mail.
                if self.enabled and comment.notify and comment.email_hash and not comment.erased \
                        and not comment.is_staff and comment.status in (
                            CommentStatus.PENDING, CommentStatus.APPROVED):
                    self._request_confirmation(session, comment, now)
                if comment.status != CommentStatus.PENDING:
                    comment.notified = True
                    handled += 1
                elif comment.urgent:
                    self._mail_moderators(
                        session, KIND_URGENT,
                        self.t.gettext("Urgent: a comment needs moderation (#%(id)s)",
                                       id=comment.id),
                        self.t.gettext(
                            "A comment flagged as urgent is waiting for moderation. Please "
                            "look at it soon:\n%(link)s\n\nYou will be asked to sign in.",
                            link=self.service_link(f"/staff/comments/{comment.id}")),
                    )
                    self._alert_on_call(session, comment)
                    comment.notified = True
                    handled += 1
                else:
                    waiting.append(comment)
            if waiting and (not self.enabled or self._digest_due(session, now)):
                links = "\n".join(self.service_link(f"/staff/comments/{c.id}") for c in waiting)
                count = len(waiting)
                self._mail_moderators(
                    session, KIND_DIGEST,
                    self.t.ngettext("%(num)d new comment is waiting for moderation",
                                    "%(num)d new comments are waiting for moderation", count),
                    self.t.ngettext(
                        "%(num)d new comment is waiting for moderation:\n%(links)s\n\n"
                        "The whole queue: %(queue)s\n\nYou will be asked to sign in.",
                        "%(num)d new comments are waiting for moderation:\n%(links)s\n\n"
                        "The whole queue: %(queue)s\n\nYou will be asked to sign in.",
                        count, links=links, queue=self.service_link("/staff/")),
                )
                for comment in waiting:
                    comment.notified = True
                handled += count
            return handled

    def _alert_on_call(self, session: Session, comment: Comment) -> None:
        # Outside staffed hours nobody may read the moderator mails until morning.
        if not self.enabled:
            return
        mail = on_call.alert_for(self.settings, comment.id, comment.created_at,
                                 self.service_link(f"/staff/comments/{comment.id}"))
        if mail is None:
            return
        address = self.settings.oncall_email
        email_hash = self.keyring.email_hash(address)
        subscriber = self._subscriber(session, email_hash)
        if subscriber is not None and subscriber.unsubscribed:
            return
        self._enqueue(session, on_call.KIND_ONCALL, self.keyring.encrypt_email(address),
                      email_hash, *mail)

    def _digest_due(self, session: Session, now: datetime) -> bool:
        last = session.scalar(
            select(OutboxMail.created_at).where(OutboxMail.kind == KIND_DIGEST)
            .order_by(OutboxMail.created_at.desc()).limit(1))
        return last is None or now - last >= timedelta(minutes=self.settings.digest_minutes)


# Subscriptions ------------------------------------------------------------------------


def confirm_subscription(database: Database, keyring: Keyring, token: str) -> bool:
    """Confirm an address from its mailed link; False when the token is not valid."""
    email_hash = read_token(keyring, "confirm", token)
    if email_hash is None:
        return False
    with database.write() as session:
        subscriber = session.get(EmailSubscriber, email_hash)
        if subscriber is None:
            return False  # erased since the mail went out
        subscriber.confirmed = True
        subscriber.unsubscribed = False
    return True


def unsubscribe(database: Database, keyring: Keyring, token: str) -> bool:
    """Stop all mail to the address a signed token names; False when the token is not valid."""
    email_hash = read_token(keyring, "unsubscribe", token)
    if email_hash is None:
        return False
    with database.write() as session:
        subscriber = session.get(EmailSubscriber, email_hash)
        if subscriber is None:
            subscriber = EmailSubscriber(email_hash=email_hash, confirmed=False,
                                         created_at=utcnow())
            session.add(subscriber)
        subscriber.unsubscribed = True
        subscriber.confirmed = False
        # Mails already queued for the address are dropped too.
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.status == "pending",
                   OutboxMail.unsubscribe_url.contains(f"token={quote(token)}", autoescape=True))
            .values(status="cancelled", last_error="unsubscribed"))
    return True
