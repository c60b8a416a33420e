"""The mail outbox's sender: claims due mails, sends them over SMTP, retries failures.

The mails themselves are queued by ``notifications`` inside the transaction of the change
that caused them; this module only delivers them, so SMTP never runs inside a request.
A mail the server cannot take yet (unreachable, 4xx) is retried, one minute after the
first try and then doubling up to once an hour, until ``mail_retry_hours`` after it was
queued; only then, or at once when the server refuses it for good (5xx, a bad address), is
it marked failed. ``failed_mail`` lists failed mails and puts them back in the queue.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from sqlalchemy import select, update

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import OutboxMail, utcnow
from comments_service.verbs import webhook_config, webhooks
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import ArticleLookup, Notifier, one_line

log = logging.getLogger("comments_service.notify")

FIRST_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 3600
# A claimed mail is retried by another worker if its sender died mid-send.
CLAIM_LEASE_SECONDS = 600
SEND_BATCH = 50


@dataclass(frozen=True)
class SendReport:
    """What one sending pass did with the mails it claimed."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try: one minute, doubling, at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0),
                                 MAX_RETRY_SECONDS))


def build_message(settings: Settings, recipient: str, mail: OutboxMail) -> EmailMessage:
    """The MIME message for an outbox row. Raises ValueError on an unusable address."""
    name, address = parseaddr(recipient)
    if not address or "@" not in address or any(c in recipient for c in "\r\n") or name:
        raise ValueError("recipient address is not a plain address")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = address
    message["Subject"] = one_line(mail.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        # RFC 8058: mail clients offer one-click unsubscribe by POSTing to this URL.
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.body)
    return message


def _claim(database: Database, now: datetime, limit: int, channel: str = "mail") -> list[int]:
    due_now = (OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now,
               OutboxMail.channel == channel)
    with database.read() as session:
        if session.scalar(select(OutboxMail.id).where(*due_now).limit(1)) is None:
            return []
    with database.write() as session:
        due = list(session.scalars(
            select(OutboxMail.id).where(*due_now)
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)))
        claimed = []
        lease = now + timedelta(seconds=CLAIM_LEASE_SECONDS)
        for mail_id in due:
            # Conditional, so two workers never both take the same mail.
            result = session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id, OutboxMail.status == "pending",
                       OutboxMail.next_attempt_at <= now)
                .values(next_attempt_at=lease))
            if result.rowcount == 1:
                claimed.append(mail_id)
        return claimed


def _record(database: Database, mail_id: int, now: datetime, error: str | None,
            permanent: bool = False) -> str:
    with database.write() as session:
        mail = session.get(OutboxMail, mail_id)
        if mail is None:
            return "gone"
        mail.attempts += 1
        if error is None:
            mail.status, mail.sent_at, mail.last_error = "sent", now, ""
            return "sent"
        mail.last_error = error[:1000]
        next_attempt = now + retry_delay(mail.attempts)
        give_up_at = mail.created_at + timedelta(hours=database.settings.mail_retry_hours)
        if permanent or next_attempt > give_up_at:
            mail.status = "failed"
            return "failed"
        mail.next_attempt_at = next_attempt
        return "retried"


def send_due(database: Database, keyring: Keyring, now: datetime | None = None,
             limit: int = SEND_BATCH) -> SendReport:
    """Send outbox mails that are due, over one SMTP connection; failures are retried later."""
    settings = database.settings
    if not settings.smtp_host:
        return SendReport()
    now = now or utcnow()
    claimed = _claim(database, now, limit, "mail")
    if not claimed:
        return SendReport()
    outcomes: list[str] = []
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("cannot reach SMTP server %s:%s: %s", settings.smtp_host,
                    settings.smtp_port, exc)
        for mail_id in claimed:
            outcomes.append(_record(database, mail_id, now, f"connect: {exc}"))
        return _report(outcomes)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        for mail_id in claimed:
            outcomes.append(_send_one(database, keyring, smtp, mail_id, now))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP session failed: %s", exc)
        for mail_id in claimed[len(outcomes):]:
            outcomes.append(_record(database, mail_id, now, f"session: {exc}"))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return _report(outcomes)


def _send_one(database: Database, keyring: Keyring, smtp: smtplib.SMTP, mail_id: int,
              now: datetime) -> str:
    with database.read() as session:
        mail = session.get(OutboxMail, mail_id)
    if mail is None:
        return "gone"
    recipient = keyring.decrypt_email(mail.recipient_encrypted)
    try:
        message = build_message(database.settings, recipient, mail)
    except ValueError as exc:
        return _record(database, mail_id, now, str(exc), permanent=True)
    try:
        refused = smtp.send_message(message, from_addr=database.settings.mail_from,
                                    to_addrs=[message["To"]])
    except smtplib.SMTPRecipientsRefused as exc:
        return _record(database, mail_id, now, f"refused: {exc.recipients}", permanent=True)
    except smtplib.SMTPResponseException as exc:
        # 5xx is the server saying "never"; 4xx means "later".
        permanent = 500 <= exc.smtp_code < 600
        return _record(database, mail_id, now, f"{exc.smtp_code} {exc.smtp_error!r}", permanent)
    if refused:
        return _record(database, mail_id, now, f"refused: {refused}", permanent=True)
    return _record(database, mail_id, now, None)


def send_due_webhooks(database: Database, now: datetime | None = None,
                      limit: int = SEND_BATCH) -> SendReport:
    """POST webhook deliveries that are due, with the same retries and give-up as mail.

    An endpoint removed from the configuration since its rows were queued fails them.
    """
    now = now or utcnow()
    claimed = _claim(database, now, limit, webhooks.CHANNEL)
    outcomes: list[str] = []
    for delivery_id in claimed:
        with database.read() as session:
            delivery = session.get(OutboxMail, delivery_id)
        if delivery is None:
            outcomes.append("gone")
            continue
        endpoint = webhook_config.by_name(database.settings, delivery.endpoint)
        if endpoint is None:
            outcomes.append(_record(database, delivery_id, now,
                                    f"endpoint '{delivery.endpoint}' is not configured",
                                    permanent=True))
            continue
        outcome = webhooks.deliver(endpoint, delivery, now.timestamp())
        if outcome.error is not None:
            log.warning("webhook %s to %s: %s", delivery.kind, endpoint.name, outcome.error)
        outcomes.append(_record(database, delivery_id, now, outcome.error, outcome.permanent))
    return _report(outcomes)


def _report(outcomes: list[str]) -> SendReport:
    return SendReport(sent=outcomes.count("sent"), retried=outcomes.count("retried"),
                      failed=outcomes.count("failed"))


def run_once(database: Database, keyring: Keyring, articles: ArticleLookup | None = None,
             now: datetime | None = None) -> tuple[int, SendReport]:
    """One pass of the mail worker: queue mails (and webhook deliveries) for new comments,
    then send what is due; the report counts both."""
    handled = Notifier(database.settings, keyring, articles).scan_submissions(database, now)
    mail = send_due(database, keyring, now)
    hooks = send_due_webhooks(database, now)
    return handled, SendReport(sent=mail.sent + hooks.sent, retried=mail.retried + hooks.retried,
                               failed=mail.failed + hooks.failed)
