"""profile provider_name and provider_service: the service as Cronofy names it (issue 12)

Filled by the adapter when a profile is created and at every calendar listing, so
existing profiles get theirs at their next sync.

Revision ID: e7c2a9d4f1b8
Revises: d5b8f2a1c6e3
Create Date: 2026-12-02 08:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "e7c2a9d4f1b8"
down_revision = "d5b8f2a1c6e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("provider_service", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_column("provider_service")
        batch_op.drop_column("provider_name")
