"""Reading public threads: an article's approved comments in the public JSON shape, counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comments_service.store.models import Comment, CommentStatus, StaffUser

FORMER_READER = "Former reader"


def rfc3339(value: datetime) -> str:
    """A timestamp as RFC 3339 in UTC with a Z, e.g. 2026-11-26T09:00:00Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_public(session: Session, article_id: str) -> list[dict[str, Any]]:
    """The article's approved comments, oldest first, in the public JSON shape.

    Each: {"id", "parent_id", "author", "body_html", "created_at", "staff", "signature",
    "content_note"} (the note is null when staff set none).
    Staff replies show the staff member's display name and signature (plain text); erased
    authors show "Former reader". A reply whose parent is not public is re-attached to its
    nearest public ancestor (or shown top-level) so no approved comment disappears.
    Emails, IP hashes and statuses never appear.
    """
    rows = session.execute(
        select(
            Comment.id,
            Comment.parent_id,
            Comment.author_name,
            Comment.body_html,
            Comment.created_at,
            Comment.is_staff,
            Comment.erased,
            Comment.content_note,
            StaffUser.display_name,
            StaffUser.signature,
        )
        .outerjoin(StaffUser, StaffUser.id == Comment.staff_user_id)
        .where(Comment.article_id == article_id, Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    public_ids = {row.id for row in rows}
    parents: dict[int, int | None] = {}
    if any(row.parent_id is not None and row.parent_id not in public_ids for row in rows):
        parents = {
            row.id: row.parent_id
            for row in session.execute(
                select(Comment.id, Comment.parent_id).where(Comment.article_id == article_id)
            )
        }
    out = []
    for row in rows:
        parent_id = row.parent_id
        while parent_id is not None and parent_id not in public_ids:
            parent_id = parents.get(parent_id)
        if row.is_staff:
            author = row.display_name or row.author_name
            signature = row.signature or None
        else:
            author = FORMER_READER if row.erased else row.author_name
            signature = None
        out.append({
            "id": row.id,
            "parent_id": parent_id,
            "author": author,
            "body_html": row.body_html,
            "created_at": rfc3339(row.created_at),
            "staff": bool(row.is_staff),
            "signature": signature,
            "content_note": row.content_note or None,
        })
    return out


def thread(session: Session, article_id: str) -> dict[str, Any]:
    """The public thread document: {"article_id", "count", "comments": [...]}."""
    public = list_public(session, article_id)
    return {"article_id": article_id, "count": len(public), "comments": public}


def count_public(session: Session, article_id: str) -> int:
    """How many approved comments the article has."""
    return counts(session, [article_id]).get(article_id, 0)


def counts(session: Session, article_ids: Iterable[str]) -> dict[str, int]:
    """Approved comment counts for several articles (0 for those without any)."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    found = {
        row[0]: row[1]
        for row in session.execute(
            select(Comment.article_id, func.count(Comment.id))
            .where(Comment.article_id.in_(ids), Comment.status == CommentStatus.APPROVED)
            .group_by(Comment.article_id)
        )
    }
    return {article_id: int(found.get(article_id, 0)) for article_id in ids}


def get(session: Session, comment_id: int) -> Comment | None:
    """One comment by id, whatever its status (for staff and notification code)."""
    return session.get(Comment, comment_id)
