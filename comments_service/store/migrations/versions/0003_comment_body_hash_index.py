"""index comments by article and body hash, for the duplicate check on every post

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:20:00
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_article_body_hash', ['article_id', 'body_hash'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_article_body_hash')
