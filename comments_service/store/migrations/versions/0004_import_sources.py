"""where an imported comment came from: its source system and its id there

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:00:00

Both columns are NULL for comments made here (and for every comment that existed before
this migration), so existing databases keep working unchanged. The unique index on the
pair is what makes importing the same export twice change nothing; NULL pairs never
collide in it, on SQLite or PostgreSQL.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_system', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=128), nullable=True))
        batch_op.create_index('ux_comments_source', ['source_system', 'source_id'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ux_comments_source')
        batch_op.drop_column('source_id')
        batch_op.drop_column('source_system')
