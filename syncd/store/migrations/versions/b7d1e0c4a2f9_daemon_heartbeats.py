"""daemon heartbeats

Revision ID: b7d1e0c4a2f9
Revises: 09149dfa9ac9
Create Date: 2026-12-02 05:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import syncd.store.models

revision = "b7d1e0c4a2f9"
down_revision = "09149dfa9ac9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemonheartbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )


def downgrade() -> None:
    op.drop_table("daemonheartbeat")
