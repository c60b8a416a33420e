"""the staff queue's index carries the spam score, so its count reads no table rows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 11:50:00

- ix_comments_queue (status, urgent DESC, created_at, id) gains spam_score as a trailing
  column. The pending tab leaves out likely spam (pending, not urgent, spam_score at or
  above the threshold) and the likely-spam tab lists it; without the score in the index
  each of their counts fetched every pending row from the table (483 ms on PostgreSQL,
  140 ms on SQLite at a million comments, issue #14). With it both counts are
  index-only (PostgreSQL) or use a covering index (SQLite), and both pages still read
  the index in the queue's order, skipping likely spam without touching the table.
  Trailing, not in the middle: the order the pages read stays the index's own.
- PostgreSQL builds the new index beside the old one and swaps them in the migration's
  transaction: writes wait for the build (seconds at a million comments), reads only
  for the swap.
  SQLite rebuilds it and, where statistics exist, analyzes it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_COLUMNS: list[str | sa.TextClause] = ['status', sa.text('urgent DESC'), 'created_at', 'id']


def upgrade() -> None:
    _rebuild([*_COLUMNS, 'spam_score'])


def downgrade() -> None:
    _rebuild(_COLUMNS)


def _rebuild(columns: list[str | sa.TextClause]) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # Built under another name first: CREATE INDEX lets reads go on (writes wait),
        # while DROP INDEX blocks reads until commit, so the drop comes last and is short.
        op.create_index('ix_comments_queue_next', 'comments', columns)
        op.drop_index('ix_comments_queue', table_name='comments')
        op.execute("ALTER INDEX ix_comments_queue_next RENAME TO ix_comments_queue")
    else:
        # SQLite readers keep their snapshot (WAL) until the migration commits.
        op.drop_index('ix_comments_queue', table_name='comments')
        op.create_index('ix_comments_queue', 'comments', columns)
        # Dropping the index dropped its statistics. Where the other indexes have some
        # (an ANALYZE ran), a new index without them looks selective to the planner,
        # which then read it for the spam tab and per-article filters too (measured 9
        # to 50 times slower at 300,000 comments): give it its statistics back.
        bind = op.get_bind()
        if bind.exec_driver_sql("SELECT 1 FROM sqlite_master "
                                "WHERE name = 'sqlite_stat1'").first():
            bind.exec_driver_sql("ANALYZE ix_comments_queue")
