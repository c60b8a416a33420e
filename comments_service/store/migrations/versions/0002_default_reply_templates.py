"""default reply templates, including one for a reader who may be in crisis

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:15:00

Data only. The texts are copied here, not imported, so later edits to the code's wording
do not change what this migration did. Admins edit or delete them on /staff/templates;
a deleted default stays deleted, since the migration runs once.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

CRISIS_NAME = "Reader who may be in crisis"
TEMPLATES = {
    CRISIS_NAME: (
        "Thank you for trusting us with this. It sounds like you are going through something "
        "very painful, and you deserve support right now, not only a reply here.\n\n"
        "If you might act on thoughts of harming yourself, or you are in danger, please call "
        "your local emergency number now, or go to the nearest emergency department. A crisis "
        "or suicide prevention line in your country can also talk with you at any hour; your "
        "doctor or local health service can tell you which one to call.\n\n"
        "When the immediate danger has passed, a therapist can help with what you are "
        "carrying. Your doctor, your health insurer or your country's professional register "
        "of psychologists and psychotherapists can point you to one near you.\n\n"
        "We read every comment, but we cannot offer counselling or emergency help here."
    ),
    "Thank you for sharing": (
        "Thank you for sharing your experience. Many readers will recognise themselves in "
        "what you wrote."
    ),
}

reply_templates = sa.table(
    "reply_templates",
    sa.column("name", sa.String),
    sa.column("body", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(reply_templates, [
        {"name": name, "body": body, "updated_at": now} for name, body in TEMPLATES.items()
    ])


def downgrade() -> None:
    op.execute(reply_templates.delete().where(reply_templates.c.name.in_(list(TEMPLATES))))
