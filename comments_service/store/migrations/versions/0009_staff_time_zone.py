"""a time zone per staff account, in which staff pages show times

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 08:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        # "" for every existing account: the operator's COMMENTS_STAFFED_TIMEZONE, as before.
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
