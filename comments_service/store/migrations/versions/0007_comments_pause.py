"""the site-wide pause switch for comment forms: one row, seen by every process

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01 08:00:00
"""
import sqlalchemy as sa
from alembic import op

from comments_service.store.models import UTCDateTime

revision = '0007'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: existing databases start unpaused (no row), as they ran before.
    op.create_table(
        'comments_pause',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('changed_by', sa.String(length=120), nullable=False),
        sa.Column('changed_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('comments_pause')
