"""a partial index of series masters by expansion end (what every sync asks for)

Revision ID: c1e5a7d9b3f2
Revises: a838be8f1b34
Create Date: 2026-12-02 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c1e5a7d9b3f2"
down_revision = "a838be8f1b34"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_event_expansion",
        "event",
        ["calendar_id", "expanded_until"],
        unique=False,
        sqlite_where=sa.text("recurring = 1 AND is_override = 0"),
        postgresql_where=sa.text("recurring AND NOT is_override"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_expansion", table_name="event")
