"""a counter of approved comments per article, kept by triggers; an index on parent_id

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:40:00

- article_counts: how many approved comments each article has, so /api/counts reads one
  row per article instead of counting its comments (which grows with the article).
  Triggers on comments keep it exact on every write path (posts, moderation, imports,
  restore, withdrawal, undo, erasure), with no code in any verb. Derived data: the export
  leaves it out and a restore's inserts fill it through the same triggers.
  PostgreSQL: one PL/pgSQL row trigger; its increment is an UPSERT and its decrement an
  UPDATE, both of which lock the article's row, so concurrent posts and approvals add up.
- ix_comments_parent: a thread's page reads its top-level comments with LIMIT and then
  their replies by parent; without the index each reply level scans the table.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BACKFILL = ("INSERT INTO article_counts (article_id, approved) "
            "SELECT article_id, count(*) FROM comments WHERE status = 'approved' "
            "GROUP BY article_id")

# The new article's row may not exist yet: insert it or add one, in one statement.
_SQLITE_ADD = ("INSERT INTO article_counts (article_id, approved) "
               "SELECT new.article_id, 1 WHERE new.status = 'approved' "
               "ON CONFLICT (article_id) DO UPDATE SET approved = approved + 1; ")
_SQLITE_TAKE = ("UPDATE article_counts SET approved = approved - 1 "
                "WHERE article_id = old.article_id AND old.status = 'approved'; ")
SQLITE_TRIGGERS = [
    "CREATE TRIGGER article_counts_insert AFTER INSERT ON comments "
    "WHEN new.status = 'approved' BEGIN " + _SQLITE_ADD + "END",
    "CREATE TRIGGER article_counts_delete AFTER DELETE ON comments "
    "WHEN old.status = 'approved' BEGIN " + _SQLITE_TAKE + "END",
    "CREATE TRIGGER article_counts_update AFTER UPDATE OF status, article_id ON comments "
    "WHEN (old.status = 'approved' OR new.status = 'approved') "
    "AND (old.status IS NOT new.status OR old.article_id IS NOT new.article_id) "
    "BEGIN " + _SQLITE_TAKE + _SQLITE_ADD + "END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS article_counts_insert",
    "DROP TRIGGER IF EXISTS article_counts_delete",
    "DROP TRIGGER IF EXISTS article_counts_update",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION article_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status
       AND OLD.article_id IS NOT DISTINCT FROM NEW.article_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'approved' THEN
        UPDATE article_counts SET approved = approved - 1 WHERE article_id = OLD.article_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'approved' THEN
        INSERT INTO article_counts (article_id, approved) VALUES (NEW.article_id, 1)
        ON CONFLICT (article_id) DO UPDATE SET approved = article_counts.approved + 1;
    END IF;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = ("CREATE TRIGGER article_counts_follow "
              "AFTER INSERT OR DELETE OR UPDATE OF status, article_id ON comments "
              "FOR EACH ROW EXECUTE FUNCTION article_counts_follow()")
PG_DROP = ["DROP TRIGGER IF EXISTS article_counts_follow ON comments",
           "DROP FUNCTION IF EXISTS article_counts_follow()"]


def upgrade() -> None:
    op.create_table(
        'article_counts',
        sa.Column('article_id', sa.String(length=100), nullable=False),
        sa.Column('approved', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('article_id'),
    )
    op.create_index('ix_comments_parent', 'comments', ['parent_id'])
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # Writes wait while the counts are filled, so none is counted twice or missed.
        bind.exec_driver_sql("LOCK TABLE comments IN SHARE MODE")
        bind.exec_driver_sql(PG_FUNCTION)
        bind.exec_driver_sql(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            bind.exec_driver_sql(statement)
    bind.exec_driver_sql(BACKFILL)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in PG_DROP if bind.dialect.name == 'postgresql' else SQLITE_DROP:
        bind.exec_driver_sql(statement)
    op.drop_index('ix_comments_parent', table_name='comments')
    op.drop_table('article_counts')
