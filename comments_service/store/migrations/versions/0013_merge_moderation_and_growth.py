"""join the branches written side by side: staff time zones, spam learning, alerts, indexes

Revision ID: 0013
Revises: 0009, 0010, 0011, 0012
Create Date: 2026-12-01 09:35:00
"""

revision = '0013'
down_revision = ('0009', '0010', '0011', '0012')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
