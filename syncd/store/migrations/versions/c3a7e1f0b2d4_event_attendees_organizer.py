"""event attendees, organizer, can_reply, provider_series_id (issue 12: people, series)

Revision ID: c3a7e1f0b2d4
Revises: 3a1c5e7b9d20
Create Date: 2026-12-02 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c3a7e1f0b2d4"
down_revision = "3a1c5e7b9d20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendees", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("organizer", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("can_reply", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("provider_series_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("provider_series_id")
        batch_op.drop_column("can_reply")
        batch_op.drop_column("organizer")
        batch_op.drop_column("attendees")
