"""webhook deliveries in the outbox, reader reports, and comments hidden by reports

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

from comments_service.store.models import UTCDateTime

revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every row already queued is a mail, and no comment was hidden by reports before.
    # webhooks_queued starts false everywhere: the scan only looks at comments not yet
    # handled (notified), so older comments are never announced.
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=16), server_default='mail',
                                   nullable=False))
        batch.add_column(sa.Column('endpoint', sa.String(length=64), server_default='',
                                   nullable=False))
    with op.batch_alter_table('comments') as batch:
        batch.add_column(sa.Column('hidden_by_reports', sa.Boolean(), server_default='0',
                                   nullable=False))
        batch.add_column(sa.Column('webhooks_queued', sa.Boolean(), server_default='0',
                                   nullable=False))
    op.create_table(
        'comment_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reporter_name', sa.String(length=80), nullable=False),
        sa.Column('reporter_email_encrypted', sa.Text(), nullable=False),
        sa.Column('reporter_email_hash', sa.String(length=64), nullable=False),
        sa.Column('ip_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=120), nullable=False),
        sa.Column('statement_of_reasons', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_comment_reports_comment_status', 'comment_reports',
                    ['comment_id', 'status'])
    op.create_index('ix_comment_reports_ip_hash_created', 'comment_reports',
                    ['ip_hash', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_comment_reports_ip_hash_created', table_name='comment_reports')
    op.drop_index('ix_comment_reports_comment_status', table_name='comment_reports')
    op.drop_table('comment_reports')
    with op.batch_alter_table('comments') as batch:
        batch.drop_column('webhooks_queued')
        batch.drop_column('hidden_by_reports')
    # Webhook deliveries have no recipient: they go with the column that says what they are.
    op.execute("DELETE FROM outbox WHERE channel = 'webhook'")
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('endpoint')
        batch.drop_column('channel')
