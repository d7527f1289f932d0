"""availability rules

Revision ID: 3a1c5e7b9d20
Revises: 797ef6526752
Create Date: 2026-12-02 07:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import syncd.store.models

revision = "3a1c5e7b9d20"
down_revision = "797ef6526752"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "availabilityrule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tzid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("calendar_ids", sa.JSON(), nullable=True),
        sa.Column("weekly_periods", sa.JSON(), nullable=False),
        sa.Column("created_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "rule_id"),
    )
    op.create_index(
        op.f("ix_availabilityrule_account_id"), "availabilityrule", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_availabilityrule_account_id"), table_name="availabilityrule")
    op.drop_table("availabilityrule")
