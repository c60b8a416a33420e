"""content notes on comments: a short staff note the page folds the text behind

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        # "" for every existing comment: no note, the text shows as before.
        batch_op.add_column(sa.Column('content_note', sa.String(length=80), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('content_note')
