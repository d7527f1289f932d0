"""managed_event.conference_secret: the per-event secret an 8x8 room is derived from
(issue 13)

A room that exists nowhere but in its URL was picked at random on every attempt, so a
hung first write landing after the retry left the event with another room than the
webhook named. The room now comes from this secret, chosen once (in the claim's
transaction) and kept with the row, so every attempt makes the same room. Existing rows
get theirs at their next claim.

Revision ID: a4e8c1f7d2b6
Revises: c3a9e5d2b8f1
Create Date: 2026-12-02 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a4e8c1f7d2b6"
down_revision = "c3a9e5d2b8f1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("managedevent", sa.Column("conference_secret", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("managedevent") as batch:
        batch.drop_column("conference_secret")
