"""Reader reports of published comments, and staff decisions on them.

A reader reports a published comment with a reason and an optional note (and, if they
wish, their name and address: the EU Digital Services Act, Art. 16, makes those optional
for most notices). Reports are rate limited per address like posts (spam.py's lock and
window). With ``report_hide`` on, a comment reported as harmful or unsafe, or by
``report_hide_threshold`` open reports, leaves the page pending review. Staff dismiss the
reports (a hidden comment is published again) or uphold them (the comment is rejected or
deleted); both are audited, and each report keeps the decision, when it was taken and the
statement of reasons given (Art. 17), so an illegal-content notice has its record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.logs import log_write
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import (
    AuditEntry,
    Comment,
    CommentReport,
    CommentStatus,
    utcnow,
)
from comments_service.verbs import spam, webhooks
from comments_service.verbs.audit import Actor, ModerationError, NotFound
from comments_service.verbs.comments import (
    ArticleNotFound,
    CommentError,
    InvalidComment,
    RateLimited,
)
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import Notifier

# Message ids (N_): the report page shows them translated.
REASONS = {
    "harmful": N_("Harmful or unsafe"),
    "harassment": N_("Harassment"),
    "personal_info": N_("Personal information"),
    "spam": N_("Spam"),
    "illegal": N_("Illegal content"),
    "other": N_("Other"),
}
# Reported for this reason, a comment is hidden at once when the operator turned hiding on.
HIDE_AT_ONCE = "harmful"
MAX_NOTE = 1000
MAX_NAME = 80
MAX_STATEMENT = 2000
DECISIONS = ("dismiss", "reject", "delete")
THANKS = ("Thank you: your report was received. Our team will look at the comment; "
          "reports are read during staffed hours.")
_UPHELD_STATUS = {"reject": CommentStatus.REJECTED, "delete": CommentStatus.DELETED}


@dataclass(frozen=True)
class ReportInput:
    """A validated report."""

    reason: str
    note: str
    name: str
    email: str


@dataclass(frozen=True)
class ReportResult:
    """What the reader is told, and whether the comment left the page."""

    id: int
    hidden: bool
    message: str = THANKS


def _text(errors: dict[str, str], data: Mapping[str, Any], name: str, label: str,
          limit: int, multiline: bool = False) -> str:
    t = i18n.Translator(i18n.current())
    label = t.gettext(label)
    raw = data.get(name)
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        errors[name] = t.gettext(N_("%(label)s must be text."), label=label)
        return ""
    value = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").strip())
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        errors[name] = t.gettext(N_("%(label)s must not contain control characters."),
                                 label=label)
    elif len(value) > limit:
        errors[name] = t.gettext(N_("%(label)s must be at most %(max)s characters (it has "
                                    "%(has)s)."), label=label, max=limit, has=len(value))
    return value


def validate_report(data: Mapping[str, Any]) -> ReportInput:
    """The report's fields, or InvalidComment naming every bad field at once."""
    errors: dict[str, str] = {}
    t = i18n.Translator(i18n.current())
    reason = data.get("reason")
    if reason not in REASONS:
        errors["reason"] = t.gettext(N_("Reason must be one of: %(reasons)s."),
                                     reasons=", ".join(REASONS))
    note = _text(errors, data, "note", N_("Note"), MAX_NOTE, multiline=True)
    if reason == "illegal" and not note and "note" not in errors:
        # A notice of illegal content needs its explanation (DSA Art. 16(2)(a)).
        errors["note"] = t.gettext(N_("Please explain why you think this comment is illegal."))
    name = _text(errors, data, "name", N_("Name"), MAX_NAME)
    email = _text(errors, data, "email", N_("Email"), 254)
    if email and "email" not in errors:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = t.gettext(N_("Email is not a valid address (for example "
                                           "name@example.org)."))
    if errors:
        raise InvalidComment(errors)
    return ReportInput(reason=str(reason), note=note, name=name, email=email)


def open_counts(session: Session, comment_ids: Iterable[int]) -> dict[int, int]:
    """Open reports per comment, for the ids given (absent: none)."""
    ids = list(dict.fromkeys(comment_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(CommentReport.comment_id, func.count(CommentReport.id))
        .where(CommentReport.comment_id.in_(ids), CommentReport.status == "open")
        .group_by(CommentReport.comment_id)).all()
    return {int(comment_id): int(count) for comment_id, count in rows}


def published_comment(session: Session, comment_id: int) -> Comment:
    """The approved comment a reader may report; ArticleNotFound (404) for anything else.

    Held, rejected and unknown comments get the same answer, so they cannot be probed.
    """
    comment = session.get(Comment, comment_id) if storable_id(comment_id) else None
    if comment is None or comment.status != CommentStatus.APPROVED:
        raise ArticleNotFound(i18n.Translator(i18n.current()).gettext(
            N_("There is no published comment #%(id)s."), id=comment_id))
    return comment


def submit_report(database: Database, keyring: Keyring, notifier: Notifier, comment_id: int,
                  data: Mapping[str, Any], client_ip: str,
                  now: datetime | None = None) -> ReportResult:
    """Store a reader's report (one transaction), or raise a CommentError."""
    settings = database.settings
    now = now or utcnow()
    report = validate_report(data)
    ip_hash = keyring.ip_hash(client_ip)
    email_encrypted = keyring.encrypt_email(report.email) if report.email else ""
    email_hash = keyring.email_hash(report.email) if report.email else ""
    with database.write() as session:
        comment = published_comment(session, comment_id)
        spam.lock_address(session, ip_hash)
        since = spam.window_start(now, settings.report_rate_limit_window_seconds)
        recent = list(session.scalars(
            select(CommentReport.created_at)
            .where(CommentReport.ip_hash == ip_hash, CommentReport.created_at >= since)
            .order_by(CommentReport.created_at)))
        if len(recent) >= settings.report_rate_limit_count:
            oldest = recent[len(recent) - settings.report_rate_limit_count]
            wait = settings.report_rate_limit_window_seconds - (now - oldest).total_seconds()
            raise RateLimited(max(1, int(wait) + 1))
        row = CommentReport(
            comment_id=comment.id, reason=report.reason, note=report.note,
            reporter_name=report.name, reporter_email_encrypted=email_encrypted,
            reporter_email_hash=email_hash,
            ip_hash=ip_hash, created_at=now, status="open", decision="", decided_by="",
            statement_of_reasons="")
        session.add(row)
        session.flush()
        count = open_counts(session, [comment.id]).get(comment.id, 0)
        hidden = settings.report_hide and (report.reason == HIDE_AT_ONCE
                                           or count >= settings.report_hide_threshold)
        if hidden:
            # Off the page until staff decide; the flag lets a dismissal publish it again.
            comment.status = CommentStatus.PENDING
            comment.hidden_by_reports = True
            comment.updated_at = now
            session.add(AuditEntry(
                comment_id=comment.id, actor="system", action="hidden_by_reports",
                before="approved", after=f"pending: {count} open report(s), latest "
                f"{REASONS[report.reason].lower()}", created_at=now))
            thread_versions.touch_thread(session, comment.article_id)
        notifier.webhook_event(session, webhooks.EVENT_REPORTED, comment, report_id=row.id,
                               report_reason=REASONS[report.reason], open_reports=count,
                               now=now)
        report_id = row.id
    log_write("comment.reported", comment_id=comment_id, reason=report.reason, hidden=hidden)
    return ReportResult(id=report_id, hidden=hidden)


def reports_of(database: Database, comment_id: int) -> list[CommentReport]:
    """Every report of a comment, oldest first (open and decided)."""
    with database.read() as session:
        return list(session.scalars(
            select(CommentReport).where(CommentReport.comment_id == comment_id)
            .order_by(CommentReport.created_at, CommentReport.id)))


@dataclass(frozen=True)
class ReportedComment:
    """A comment with open reports, as the staff list shows it."""

    comment: Comment
    open_reports: int
    reasons: tuple[str, ...]
    first_reported_at: datetime


def reported(database: Database, limit: int = 200) -> list[ReportedComment]:
    """Comments with open reports: hidden ones and those reported most first."""
    with database.read() as session:
        rows = session.execute(
            select(CommentReport.comment_id, func.count(CommentReport.id),
                   func.min(CommentReport.created_at))
            .where(CommentReport.status == "open").group_by(CommentReport.comment_id)).all()
        reasons: dict[int, list[str]] = {}
        for comment_id, reason in session.execute(
                select(CommentReport.comment_id, CommentReport.reason)
                .where(CommentReport.status == "open")):
            if reason not in reasons.setdefault(comment_id, []):
                reasons[comment_id].append(reason)
        comments = {c.id: c for c in session.scalars(
            select(Comment).where(Comment.id.in_([r[0] for r in rows])))}
    found = [ReportedComment(comments[cid], int(count),
                             tuple(REASONS[r] for r in reasons.get(cid, [])), first)
             for cid, count, first in rows if cid in comments]
    found.sort(key=lambda r: (not r.comment.hidden_by_reports, -r.open_reports,
                              r.first_reported_at))
    return found[:limit]


def decide(database: Database, actor: Actor, comment_id: int, decision: str,
           statement: str = "", now: datetime | None = None) -> int:
    """Dismiss or uphold every open report of a comment, audited; returns how many.

    ``dismiss`` publishes again a comment the reports hid; ``reject`` and ``delete`` take
    the comment down and need a statement of reasons (kept with each report).
    """
    if decision not in DECISIONS:
        raise ModerationError("decision", N_("must be one of %(choices)s"),
                              choices=", ".join(DECISIONS))
    statement = " ".join(statement.split())
    if len(statement) > MAX_STATEMENT:
        raise ModerationError("statement",
                              N_("must be at most %(max)d characters (it has %(length)d)"),
                              max=MAX_STATEMENT, length=len(statement))
    if decision != "dismiss" and not statement:
        raise ModerationError("statement", N_("a statement of reasons is required to uphold "
                                              "a report"))
    now = now or utcnow()
    with database.write() as session:
        comment = session.get(Comment, comment_id) if storable_id(comment_id) else None
        if comment is None:
            raise NotFound(f"no comment with id {comment_id}")
        open_reports = list(session.scalars(
            select(CommentReport).where(CommentReport.comment_id == comment_id,
                                        CommentReport.status == "open")))
        if not open_reports:
            return 0
        before = comment.status
        if decision == "dismiss":
            if comment.hidden_by_reports and comment.status == CommentStatus.PENDING:
                comment.status = CommentStatus.APPROVED
        else:
            comment.status = _UPHELD_STATUS[decision]
            comment.moderated_at = now
        comment.hidden_by_reports = False
        comment.updated_at = now
        outcome = "dismissed" if decision == "dismiss" else "upheld"
        done = "dismissed" if decision == "dismiss" else {"reject": "rejected",
                                                           "delete": "deleted"}[decision]
        for report in open_reports:
            report.status, report.decision = outcome, done
            report.decided_at, report.decided_by = now, actor.label
            report.statement_of_reasons = statement
        reasons = sorted({REASONS[r.reason] for r in open_reports})
        session.add(AuditEntry(
            comment_id=comment_id, staff_user_id=actor.staff_user_id, actor=actor.label,
            action=f"reports_{outcome}", before=before.value,
            after=(f"{comment.status.value}: {len(open_reports)} report(s) "
                   f"({'; '.join(reasons)}) {outcome}"
                   + (f"; statement of reasons: {statement}" if statement else "")),
            created_at=now))
        if CommentStatus.APPROVED in (before, comment.status) and before != comment.status:
            thread_versions.touch_thread(session, comment.article_id)
    log_write("comment.reports_decided", comment_id=comment_id, decision=decision,
              reports=len(open_reports), actor=actor.label)
    return len(open_reports)


__all__ = ["DECISIONS", "REASONS", "CommentError", "ReportResult", "decide", "open_counts",
           "reported", "reports_of", "submit_report", "validate_report"]
