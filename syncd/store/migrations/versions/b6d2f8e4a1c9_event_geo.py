"""event.geo: the location's coordinates as the provider gives them (issue 12)

``GET /v1/events?include_geo=true`` answers ``location.lat``/``location.long`` as
Cronofy does; Graph (``location.coordinates``) and CalDAV (``GEO``) have them, Google
has none. NULL for every existing row until its next change is synced.

Revision ID: b6d2f8e4a1c9
Revises: a4e8c1f7d2b6
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b6d2f8e4a1c9"
down_revision = "a4e8c1f7d2b6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("event", sa.Column("geo", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("geo")
