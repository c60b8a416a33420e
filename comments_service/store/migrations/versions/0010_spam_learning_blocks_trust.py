"""local spam classifier, blocklists and trusted regulars

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 08:30:00
"""
import json

import sqlalchemy as sa
from alembic import op

from comments_service.store.models import UTCDateTime
from comments_service.verbs import spam_features

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing comments get no score (the classifier has learned nothing yet) and no note.
    with op.batch_alter_table('comments') as batch:
        batch.add_column(sa.Column('spam_score', sa.Float(), nullable=True))
        batch.add_column(sa.Column('spam_reasons', sa.Text(), server_default='',
                                   nullable=False))
        batch.add_column(sa.Column('screening_note', sa.String(length=200), server_default='',
                                   nullable=False))
    features = op.create_table(
        'spam_features',
        sa.Column('feature', sa.String(length=120), nullable=False),
        sa.Column('spam', sa.Integer(), nullable=False),
        sa.Column('ham', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('feature'),
    )
    state = op.create_table(
        'spam_model_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # The one row exists from the start, so two first decisions at once cannot both
    # insert it (each decision locks it instead).
    op.bulk_insert(state, [{'id': 1, 'version': 0}])
    training = op.create_table(
        'spam_training',
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=8), nullable=False),
        sa.Column('features', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('comment_id'),
    )
    op.create_table(
        'blocks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ux_blocks_kind_value', 'blocks', ['kind', 'value'], unique=True)
    _learn_from_history(features, training)
    op.create_table(
        'trust_revoked',
        sa.Column('email_hash', sa.String(length=64), nullable=False),
        sa.Column('revoked_by', sa.String(length=120), nullable=False),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('email_hash'),
    )


def _learn_from_history(features: sa.Table, training: sa.Table) -> None:
    """Teach the classifier every decision already taken, so an existing site has a
    model at once (and a downgrade and upgrade give back the same counts)."""
    comments = sa.table('comments', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                        sa.column('author_name', sa.String), sa.column('status', sa.String),
                        sa.column('is_staff', sa.Boolean), sa.column('erased', sa.Boolean))
    labels = {'approved': 'ham', 'spam': 'spam', 'rejected': 'spam'}
    connection = op.get_bind()
    counts: dict[str, list[int]] = {}
    lessons = []
    for comment_id, body, author, status in connection.execute(
            sa.select(comments.c.id, comments.c.body, comments.c.author_name,
                      comments.c.status)
            # Erased comments' lessons were taken back with their author's data.
            .where(comments.c.status.in_(list(labels)), comments.c.is_staff.is_(False),
                   comments.c.erased.is_(False))):
        label = labels[status]
        found = spam_features.extract(body or '', author or '')
        lessons.append({'comment_id': comment_id, 'label': label,
                        'features': json.dumps(found, ensure_ascii=False)})
        for feature in found:
            pair = counts.setdefault(feature, [0, 0])
            pair[0 if label == 'spam' else 1] += 1
    if lessons:
        op.bulk_insert(training, lessons)
        op.bulk_insert(features, [{'feature': f, 'spam': s, 'ham': h}
                                  for f, (s, h) in sorted(counts.items())])


def downgrade() -> None:
    op.drop_table('trust_revoked')
    op.drop_index('ux_blocks_kind_value', table_name='blocks')
    op.drop_table('blocks')
    op.drop_table('spam_training')
    op.drop_table('spam_model_state')
    op.drop_table('spam_features')
    with op.batch_alter_table('comments') as batch:
        batch.drop_column('screening_note')
        batch.drop_column('spam_reasons')
        batch.drop_column('spam_score')
