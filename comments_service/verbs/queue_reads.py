"""The moderation queue as staff read it: tabs, filters, search, counts and one comment.

Mixed into Moderation (verbs/moderation.py), which uses self.database, self.keyring and
self.articles; kept apart because reading the queue and changing comments are two jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from comments_service.articles.article import Article
from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import ArticleCount, Comment, CommentStatus
from comments_service.verbs import queue_search, spam_learning
from comments_service.verbs.audit import MAX_PAGE, PAGE_SIZE, ModerationError, NotFound
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import ArticleLookup

LIKELY_SPAM = "likely_spam"


def likely_spam(threshold: float) -> ColumnElement[bool]:
    """The likely-spam tab: pending comments the classifier scores at or over threshold."""
    # Urgent comments never leave the pending tab: a reader in crisis must not be missed
    # because their words looked like spam. Every column here is in ix_comments_queue
    # (migration 0015), so the tab's count and page need no table rows to filter.
    return ((Comment.status == CommentStatus.PENDING) & Comment.urgent.is_(False)
            & Comment.spam_score.is_not(None) & (Comment.spam_score >= threshold))


@dataclass(frozen=True)
class QueueFilter:
    """What the moderation page lists. ``status`` "all" lists every status."""

    status: str = CommentStatus.PENDING.value
    article_id: str = ""
    query: str = ""
    page: int = 1

    def validate(self) -> QueueFilter:
        if self.status not in ("all", LIKELY_SPAM) and self.status not in {
                s.value for s in CommentStatus}:
            raise ModerationError("status", N_("must be pending, approved, rejected, spam, "
                                                "deleted or all"))
        if not 1 <= self.page <= MAX_PAGE:
            raise ModerationError("page", N_("must be a whole number from 1 to %(max)d"),
                                  max=MAX_PAGE)
        return self


@dataclass(frozen=True)
class QueueItem:
    """One comment as staff see it: decrypted email, the comment it answers, its article."""

    comment: Comment
    email: str
    parent: Comment | None
    article: Article | None
    # The classifier's verdict as staff read it ("likely spam: 0.97, because: ..."), or "".
    spam_note: str = ""


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


class QueueReads:
    """The reading half of Moderation."""

    database: Database
    keyring: Keyring
    articles: ArticleLookup | None

    def queue(self, wanted: QueueFilter) -> QueuePage:
        """Comments matching the filter; pending ones urgent first, then oldest first."""
        wanted = wanted.validate()
        conditions: list[ColumnElement[bool]] = []
        threshold = self.database.settings.spam_threshold
        if wanted.status == LIKELY_SPAM:
            conditions.append(likely_spam(threshold))
        elif wanted.status == CommentStatus.PENDING.value:
            # Likely spam waits in its own tab, so the pending tab stays for real readers.
            # This is NOT likely_spam(threshold) given the status, written as an OR of
            # the columns ix_comments_queue holds, so the count and the page read the
            # index alone (issue #14).
            conditions += [Comment.status == CommentStatus.PENDING, or_(
                Comment.urgent.is_not(False), Comment.spam_score.is_(None),
                Comment.spam_score < threshold)]
        elif wanted.status != "all":
            conditions.append(Comment.status == CommentStatus(wanted.status))
        if wanted.article_id:
            conditions.append(Comment.article_id == wanted.article_id)
        query = wanted.query.strip()
        if query:
            matches = [queue_search.text_matches(
                "sqlite" if self.database.is_sqlite else "postgresql", query)]
            if "@" in query:
                matches.append(Comment.email_hash == self.keyring.email_hash(query))
            conditions.append(or_(*matches))
        if wanted.status in (CommentStatus.PENDING.value, LIKELY_SPAM):
            order = [Comment.urgent.desc(), Comment.created_at.asc(), Comment.id.asc()]
        else:
            order = [Comment.created_at.desc(), Comment.id.desc()]
        with self.database.read() as session:
            total = session.scalar(select(func.count()).select_from(Comment).where(*conditions))
            rows = list(
                session.scalars(
                    select(Comment).where(*conditions).order_by(*order)
                    .limit(PAGE_SIZE).offset((wanted.page - 1) * PAGE_SIZE)
                )
            )
            parents = self._parents(session, rows)
        return QueuePage([self._item(c, parents.get(c.parent_id)) for c in rows],
                         total or 0, wanted.page)

    def item(self, comment_id: int) -> QueueItem:
        """One comment with its context; raises NotFound."""
        with self.database.read() as session:
            comment = session.get(Comment, comment_id) if storable_id(comment_id) else None
            if comment is None:
                raise NotFound(f"no comment with id {comment_id}")
            parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
        return self._item(comment, parent)

    def replies(self, comment_id: int) -> list[Comment]:
        """Direct replies to a comment, oldest first, whatever their status."""
        if not storable_id(comment_id):
            return []
        with self.database.read() as session:
            return list(session.scalars(
                select(Comment).where(Comment.parent_id == comment_id)
                .order_by(Comment.created_at, Comment.id)))

    def article_ids(self) -> list[str]:
        """Every article id that has comments, for the filter menu."""
        with self.database.read() as session:
            return [row[0] for row in session.execute(_ARTICLE_IDS)]

    def counts(self) -> dict[str, int]:
        """How many comments are in each status, plus pending urgent ones."""
        with self.database.read() as session:
            counts = {status.value: 0 for status in CommentStatus}
            # Approved comments are most of the table: their number is the sum of the
            # per-article counters (migration 0014); the other statuses count from the
            # queue index. Grouping the whole table took 100 ms at a million comments.
            counts[CommentStatus.APPROVED.value] = session.scalar(
                select(func.coalesce(func.sum(ArticleCount.approved), 0))) or 0
            others = [s for s in CommentStatus if s != CommentStatus.APPROVED]
            for status, count in session.execute(
                select(Comment.status, func.count()).where(Comment.status.in_(others))
                .group_by(Comment.status)
            ):
                counts[CommentStatus(status).value] = count
            counts["urgent"] = session.scalar(
                select(func.count()).select_from(Comment).where(
                    Comment.status == CommentStatus.PENDING, Comment.urgent.is_(True))) or 0
            counts[LIKELY_SPAM] = session.scalar(
                select(func.count()).select_from(Comment).where(
                    likely_spam(self.database.settings.spam_threshold))) or 0
        return counts

    def _parents(self, session: Session, rows: Iterable[Comment]) -> dict[int, Comment]:
        ids = {c.parent_id for c in rows if c.parent_id}
        if not ids:
            return {}
        parent = aliased(Comment)
        return {p.id: p for p in session.scalars(select(parent).where(parent.id.in_(ids)))}

    def _item(self, comment: Comment, parent: Comment | None) -> QueueItem:
        article = self.articles.get(comment.article_id) if self.articles else None
        return QueueItem(comment, self.keyring.decrypt_email(comment.email_encrypted),
                         parent, article, spam_learning.explanation(
                             comment, self.database.settings.spam_threshold))


# One index probe per article (a loose index scan on ix_comments_article_status_created):
# a DISTINCT walks every comment, 100 ms at a million.
_ARTICLE_IDS = text(
    "WITH RECURSIVE seen(article_id) AS ("
    " SELECT MIN(article_id) FROM comments"
    " UNION ALL"
    " SELECT (SELECT MIN(c.article_id) FROM comments c WHERE c.article_id > seen.article_id)"
    " FROM seen WHERE seen.article_id IS NOT NULL)"
    " SELECT article_id FROM seen WHERE article_id IS NOT NULL")
