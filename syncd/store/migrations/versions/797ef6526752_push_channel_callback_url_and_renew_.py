"""push channel callback url and renew request (issue 13: Graph lifecycle, moved push URL)

Revision ID: 797ef6526752
Revises: 5987a25b4a4a
Create Date: 2026-12-02 05:49:27.996544
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "797ef6526752"
down_revision = "5987a25b4a4a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing channels get NULL: their callback URL is unknown, so the next maintenance
    # pass replaces them (which also gives Graph subscriptions a lifecycleNotificationUrl,
    # something an existing subscription cannot be given).
    with op.batch_alter_table("pushchannel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("renew_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("pushchannel", schema=None) as batch_op:
        batch_op.drop_column("renew_requested")
        batch_op.drop_column("callback_url")
