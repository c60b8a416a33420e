"""The queue grouped by article: the page's rows per article, and each article's context.

Context is the article's other recent comments (approved and pending), so a moderator
reads a new comment against the conversation it joins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.moderation import QueueItem

CONTEXT_PER_ARTICLE = 5


@dataclass
class ArticleGroup:
    """One article's rows on the queue page, in queue order."""

    article_id: str
    items: list[QueueItem] = field(default_factory=list)

    @property
    def title(self) -> str:
        first = self.items[0]
        return first.article.title if first.article else self.article_id

    @property
    def urgent(self) -> int:
        return sum(1 for i in self.items if i.comment.urgent)


def by_article(items: Iterable[QueueItem]) -> list[ArticleGroup]:
    """The rows gathered per article; an article comes where its first (most urgent) row was."""
    groups: dict[str, ArticleGroup] = {}
    for item in items:
        groups.setdefault(item.comment.article_id,
                          ArticleGroup(item.comment.article_id)).items.append(item)
    return list(groups.values())


def recent_others(database: Database, article_ids: list[str], exclude: set[int],
                  per_article: int = CONTEXT_PER_ARTICLE) -> dict[str, list[Comment]]:
    """Each article's newest approved or pending comments not on the page, newest first.

    One query for every article at once: a window function numbers each article's rows.
    """
    if not article_ids:
        return {}
    ranked = (
        select(Comment.id, func.row_number().over(
            partition_by=Comment.article_id,
            order_by=(Comment.created_at.desc(), Comment.id.desc())).label("rank"))
        .where(Comment.article_id.in_(article_ids),
               Comment.status.in_([CommentStatus.APPROVED, CommentStatus.PENDING]),
               Comment.id.not_in(exclude or {-1}))
        .subquery())
    with database.read() as session:
        rows = session.scalars(
            select(Comment).join(ranked, ranked.c.id == Comment.id)
            .where(ranked.c.rank <= per_article)
            .order_by(Comment.article_id, Comment.created_at.desc(), Comment.id.desc())).all()
    found: dict[str, list[Comment]] = {a: [] for a in article_ids}
    for comment in rows:
        found[comment.article_id].append(comment)
    return found
