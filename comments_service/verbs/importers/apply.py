"""The import verb: an export's comments stored as ours, in one transaction.

Each comment is treated like a new one would be where it matters for readers and their
data: the body goes through the same renderer, the email is encrypted and hashed with
the Keyring, the IP is kept only as the keyed hash (and only while it is inside the
retention window a new one would be kept for), and urgent comments are flagged by the
same check comments.submit makes. Unlike a new post, nothing is mailed: every row is
stored as already notified. Rows are deduplicated on (source system, source id) and
nothing already stored is ever changed, so importing an export twice adds nothing.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from comments_service.config import Settings
from comments_service.store.models import AuditEntry, Comment, CommentStatus, StaffUser, utcnow
from comments_service.store.thread_versions import touch_thread
from comments_service.verbs import spam, urgency
from comments_service.verbs.comments import MAX_AUTHOR, MAX_DEPTH
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.render import render_comment

from . import report as notes
from .matching import ArticleMatcher
from .records import Export, ImportedComment, SkipReason, SourceStatus
from .report import ImportReport, UnmatchedThread
from .staff_map import StaffMap, account_label

ANONYMOUS = "Anonymous"
# A stored comment with the same source id but a time further off than this is another
# comment (two sites' exports with overlapping ids), not this one imported before.
SAME_COMMENT_TOLERANCE = timedelta(seconds=1)

Progress = Callable[[int, int], None]


@dataclass
class _Node:
    """A comment's place in its article's tree, stored or about to be."""

    article_id: str
    depth: int
    approved: bool
    parent: _Node | None
    db_id: int | None = None


def import_comments(session: Session, settings: Settings, keyring: Keyring, export: Export,
                    matcher: ArticleMatcher, staff: StaffMap, *, dry_run: bool,
                    actor: str = "cli", progress: Progress | None = None) -> ImportReport:
    """Plan the import and, unless ``dry_run``, store it in ``session``'s transaction.

    The caller commits (or, for a dry run, only reads). Returns the per-article report.
    """
    report = ImportReport(export.source_system, export.path, dry_run,
                          staff_mapping_given=not staff.empty)
    placed = _place_threads(export, matcher, report)
    existing = _existing(session, export.source_system)
    ordered = _tree_order(export, placed, report)
    # Source id -> node, for attaching replies: what earlier imports stored, then this one.
    planned: dict[str, _Node] = {source_id: node for source_id, (node, _) in existing.items()}
    touched: set[str] = set()
    rows: list[tuple[dict[str, Any], _Node, _Node | None]] = []
    now = utcnow()
    for comment in ordered:
        article_id = placed[comment.thread_source_id]
        counts = report.article(article_id)
        stored = existing.get(comment.source_id)
        if stored is not None:
            reason = SkipReason.ALREADY_IMPORTED
            if stored[0].article_id != article_id or abs(
                    stored[1] - comment.created_at) > SAME_COMMENT_TOLERANCE:
                reason = SkipReason.CONFLICT
            counts.skipped[reason.value] += 1
            if reason == SkipReason.CONFLICT:
                # Not this comment: its replies in this export must not hang from it.
                del planned[comment.source_id]
            continue
        if _blank(comment.body_text) and comment.status != SourceStatus.DELETED:
            counts.skipped[SkipReason.EMPTY.value] += 1
            continue
        node, parent = _attach(comment, article_id, planned, report)
        planned[comment.source_id] = node
        rows.append((_row(settings, keyring, staff, comment, article_id, node, now, report),
                     node, parent))
        counts.imported += 1
        if node.approved:
            touched.add(article_id)
    report.touched = sorted(touched)
    if dry_run or not rows:
        return report
    _store(session, rows, progress)
    for article_id in report.touched:
        touch_thread(session, article_id)
    session.add(AuditEntry(comment_id=None, staff_user_id=None, actor=actor, action="import",
                           before="", after=_audit_text(report), created_at=now))
    return report


# Planning ---------------------------------------------------------------------------------


def _place_threads(export: Export, matcher: ArticleMatcher,
                   report: ImportReport) -> dict[str, str]:
    """thread source id -> article id for matched threads; the rest reported as unmatched."""
    placed: dict[str, str] = {}
    counts: defaultdict[str, int] = defaultdict(int)
    for comment in export.comments:
        counts[comment.thread_source_id] += 1
    for thread in export.threads.values():
        found = counts[thread.source_id] + sum(thread.skipped.values())
        if not found:
            continue
        match = matcher.match(thread)
        if match.article_id is None:
            report.unmatched.append(UnmatchedThread(thread.label, found, match.how))
            continue
        placed[thread.source_id] = match.article_id
        article = report.article(match.article_id)
        article.found += found
        article.skipped.update(thread.skipped)
    report.unplaced.update(export.skipped)
    return placed


def _existing(session: Session, source_system: str) -> dict[str, tuple[_Node, datetime]]:
    """Every comment an earlier import of this system stored, as tree nodes by source id."""
    rows = session.execute(
        select(Comment.id, Comment.source_id, Comment.parent_id, Comment.depth,
               Comment.status, Comment.article_id, Comment.created_at)
        .where(Comment.source_system == source_system)).all()
    by_id = {row.id: _Node(row.article_id, row.depth, row.status == CommentStatus.APPROVED,
                           None, row.id) for row in rows}
    for row in rows:
        if row.parent_id is not None:
            by_id[row.id].parent = by_id.get(row.parent_id)
    return {row.source_id: (by_id[row.id], row.created_at) for row in rows}


def _tree_order(export: Export, placed: dict[str, str],
                report: ImportReport) -> list[ImportedComment]:
    """The matched comments, parents before their replies, siblings oldest first."""
    candidates: dict[str, ImportedComment] = {}
    for comment in export.comments:
        if comment.thread_source_id not in placed:
            continue
        if comment.source_id in candidates:
            report.article(placed[comment.thread_source_id]).skipped[
                SkipReason.DUPLICATE_IN_EXPORT.value] += 1
            continue
        candidates[comment.source_id] = comment
    children: dict[str | None, list[ImportedComment]] = defaultdict(list)
    for comment in candidates.values():
        parent = candidates.get(comment.parent_source_id or "")
        same_article = parent is not None and (
            placed[parent.thread_source_id] == placed[comment.thread_source_id])
        key = comment.parent_source_id if same_article and parent is not comment else None
        children[key].append(comment)

    def oldest_first(items: list[ImportedComment]) -> list[ImportedComment]:
        return sorted(items, key=lambda c: (c.created_at, c.source_id))

    ordered: list[ImportedComment] = []
    seen: set[str] = set()
    pending = oldest_first(children[None])
    while True:
        stack = list(reversed(pending))
        while stack:
            comment = stack.pop()
            if comment.source_id in seen:
                continue
            seen.add(comment.source_id)
            ordered.append(comment)
            stack.extend(reversed(oldest_first(children.get(comment.source_id, []))))
        # Whatever is left is a loop of parents (a corrupt export): start at its oldest.
        left = [c for c in candidates.values() if c.source_id not in seen]
        if not left:
            return ordered
        pending = oldest_first(left)[:1]


def _attach(comment: ImportedComment, article_id: str, planned: dict[str, _Node],
            report: ImportReport) -> tuple[_Node, _Node | None]:
    """The comment's node and the node it replies to, by the service's own rules."""
    parent: _Node | None = None
    if comment.parent_source_id is not None:
        parent = planned.get(comment.parent_source_id)
        if parent is not None and parent.article_id != article_id:
            parent = None
        if parent is None:
            report.notes[notes.NOTE_PARENT_MISSING] += 1
    approved = comment.status == SourceStatus.APPROVED
    if approved and parent is not None and not parent.approved:
        # A published reply must hang from something published, as list_public shows it.
        while parent is not None and not parent.approved:
            parent = parent.parent
        report.notes[notes.NOTE_PARENT_NOT_PUBLIC] += 1
    if parent is not None and parent.depth >= MAX_DEPTH and parent.parent is not None:
        # comments._resolve_parent: a reply past the deepest level joins its parent's level.
        while parent.depth >= MAX_DEPTH and parent.parent is not None:
            parent = parent.parent
        report.notes[notes.NOTE_TOO_DEEP] += 1
    depth = 0 if parent is None else min(parent.depth + 1, MAX_DEPTH)
    return _Node(article_id, depth, approved, parent), parent


def _row(settings: Settings, keyring: Keyring, staff: StaffMap, comment: ImportedComment,
         article_id: str, node: _Node, now: datetime, report: ImportReport) -> dict[str, Any]:
    """The comments row for one imported comment (parent_id is filled in when storing)."""
    body = comment.body_text
    account = staff.account_of(comment)
    row: dict[str, Any] = {
        "article_id": article_id,
        "depth": node.depth,
        "body": body,
        "body_html": render_comment(body),
        "status": CommentStatus(comment.status.value),
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
        "moderated_at": None,
        "notify": False,
        "erased": False,
        # Imported comments were dealt with in the old system: nobody is mailed about them.
        "notified": True,
        "source_system": comment.source_system,
        "source_id": comment.source_id,
    }
    if comment.time_estimated:
        report.notes[notes.NOTE_TIME_ESTIMATED] += 1
    if account is not None:
        report.notes[notes.NOTE_STAFF] += 1
        row.update(_staff_fields(account, body))
        return row
    if comment.source_system == "wordpress" and comment.source_user_id:
        report.notes[notes.NOTE_ACCOUNTS_AS_READERS] += 1
        report.unmapped_accounts[account_label(comment)] += 1
    name = comment.author_name
    if _blank(name):
        name = ANONYMOUS
        report.notes[notes.NOTE_NO_NAME] += 1
    if len(name) > MAX_AUTHOR:
        name = name[:MAX_AUTHOR].rstrip()
        report.notes[notes.NOTE_NAME_SHORTENED] += 1
    email = (comment.email or "").strip()
    if "@" not in email:
        email = ""
    # The same detector, on the same fields, as comments.submit runs on a new comment.
    flagged = urgency.assess(settings, body, name)
    if flagged:
        report.notes[notes.NOTE_URGENT] += 1
    retained = comment.created_at >= now - timedelta(days=settings.ip_hash_retention_days)
    row.update({
        "author_name": name,
        "email_encrypted": keyring.encrypt_email(email) if email else "",
        "email_hash": keyring.email_hash(email) if email else "",
        "body_hash": spam.body_fingerprint(body),
        "urgent": flagged.urgent,
        "urgent_reasons": flagged.to_json(),
        "is_staff": False,
        "staff_user_id": None,
        # Older than the retention window, a new comment's hash would already be purged.
        "ip_hash": keyring.ip_hash(comment.ip) if comment.ip and retained else None,
    })
    return row


def _blank(text: str) -> bool:
    """True when the text would show nothing: only spaces and invisible format characters
    (zero-width spaces, joiners, direction marks), which ``str.strip`` keeps."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def _staff_fields(account: StaffUser, body: str) -> dict[str, Any]:
    """What moderation.reply_as_staff stores for a staff reply: the account's name, no
    reader data; badge and signature come from the account when the thread is shown."""
    return {
        "author_name": account.display_name,
        "email_encrypted": "",
        "email_hash": "",
        "body_hash": hashlib.sha256(body.encode()).hexdigest(),
        "urgent": False,
        "is_staff": True,
        "staff_user_id": account.id,
        "ip_hash": None,
    }


# Storing ----------------------------------------------------------------------------------

_INSERT = insert(Comment.__table__).returning(Comment.__table__.c.id)
# At most this many rows between two progress calls, and about twenty calls in all.
PROGRESS_EVERY = 500


def _store(session: Session, rows: list[tuple[dict[str, Any], _Node, _Node | None]],
           progress: Progress | None) -> None:
    """Insert the rows in order (parents first), filling in each reply's parent id."""
    connection = session.connection()
    total = len(rows)
    step = max(1, min(PROGRESS_EVERY, total // 20))
    for done, (row, node, parent) in enumerate(rows, start=1):
        row["parent_id"] = parent.db_id if parent is not None else None
        node.db_id = connection.execute(_INSERT, row).scalar_one()
        if progress is not None and (done % step == 0 or done == total):
            progress(done, total)


def _audit_text(report: ImportReport) -> str:
    lines = [f"{report.source_system} import of {report.path.name}: "
             f"{report.imported} comment(s)"]
    lines += [f"{a.article_id}: {a.imported}" for a in sorted(
        report.articles.values(), key=lambda a: a.article_id) if a.imported]
    return "\n".join(lines)
