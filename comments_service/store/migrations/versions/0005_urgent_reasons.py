"""keep why a comment was flagged urgent: the detector's categories and matched phrases

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        # JSON: [[category, matched text], ...]; "" for comments flagged before the detector.
        batch_op.add_column(sa.Column('urgent_reasons', sa.Text(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('urgent_reasons')
