"""Big public threads for tests: many approved comments written straight to the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def seed_thread(database: Database, article_id: str, roots: int, replies: int = 0,
                start: datetime = START) -> list[list[int]]:
    """Approved top-level comments one minute apart, each with ``replies`` replies.

    Returns each reply chain's ids, root first, oldest chain first. Fictional names only.
    """
    chains: list[list[int]] = []
    table = Comment.__table__
    with database.write() as session:
        for n in range(roots):
            at = start + timedelta(minutes=n)
            root = session.execute(insert(table).values(
                article_id=article_id, depth=0, author_name=f"Reader {n}",
                body=f"Comment number {n}.", body_html=f"<p>Comment number {n}.</p>",
                status=CommentStatus.APPROVED, created_at=at, updated_at=at,
            ).returning(table.c.id)).scalar_one()
            chain = [root]
            for r in range(replies):
                reply_at = at + timedelta(seconds=r + 1)
                chain.append(session.execute(insert(table).values(
                    article_id=article_id, parent_id=root, depth=1,
                    author_name=f"Replier {n}.{r}", body=f"Reply {r} to {n}.",
                    body_html=f"<p>Reply {r} to {n}.</p>", status=CommentStatus.APPROVED,
                    created_at=reply_at, updated_at=reply_at,
                ).returning(table.c.id)).scalar_one())
            chains.append(chain)
        thread_versions.touch_thread(session, article_id)
    return chains
