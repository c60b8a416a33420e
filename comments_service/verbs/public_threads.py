"""Reading public threads: an article's approved comments in the public JSON shape, counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.store.models import ArticleCount, Comment, CommentStatus, StaffUser

FORMER_READER = "Former reader"


def rfc3339(value: datetime) -> str:
    """A timestamp as RFC 3339 in UTC with a Z, e.g. 2026-11-26T09:00:00Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What the public shape is made of (with StaffUser outer-joined on staff_user_id).
PUBLIC_COLUMNS = (
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
        select(*PUBLIC_COLUMNS)
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
        out.append(public_comment(row, parent_id))
    return out


def public_comment(row: Any, parent_id: int | None) -> dict[str, Any]:
    """One row of PUBLIC_COLUMNS in the public JSON shape, under its public parent."""
    if row.is_staff:
        author = row.display_name or row.author_name
        signature = row.signature or None
    else:
        author = FORMER_READER if row.erased else row.author_name
        signature = None
    return {
        "id": row.id,
        "parent_id": parent_id,
        "author": author,
        "body_html": row.body_html,
        "created_at": rfc3339(row.created_at),
        "staff": bool(row.is_staff),
        "signature": signature,
        "content_note": row.content_note or None,
    }


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
    # One row per article, kept by triggers (migration 0014): counting the comments
    # instead would walk every approved one, which grows with the article.
    found = {
        row[0]: row[1]
        for row in session.execute(
            select(ArticleCount.article_id, ArticleCount.approved)
            .where(ArticleCount.article_id.in_(ids))
        )
    }
    return {article_id: int(found.get(article_id, 0)) for article_id in ids}


def get(session: Session, comment_id: int) -> Comment | None:
    """One comment by id, whatever its status (for staff and notification code)."""
    return session.get(Comment, comment_id)
