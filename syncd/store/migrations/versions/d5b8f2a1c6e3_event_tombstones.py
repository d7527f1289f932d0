"""event_tombstone: deleted events visible through include_deleted (issue 12, item 1)

Managed events already deleted through the API (until now listed from their
``managed_event`` rows) get a tombstone each, so they stay visible.

Revision ID: d5b8f2a1c6e3
Revises: 5b2d8f1a6c34
Create Date: 2026-12-02 08:20:00.000000
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "d5b8f2a1c6e3"
down_revision = "5b2d8f1a6c34"
branch_labels = None
depends_on = None

#: syncd.store.managed.EXTERNAL_DELETE_PREFIX (rows that are not managed events).
_EXTERNAL_DELETE_PREFIX = "external-delete:"


def upgrade() -> None:
    tombstone = op.create_table(
        "eventtombstone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(), nullable=False),
        sa.Column("event_uid", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("provider_event_id", sa.Text(), nullable=True),
        sa.Column("provider_series_id", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("start_text", sa.String(), nullable=False),
        sa.Column("end_text", sa.String(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("eventtombstone", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tombstone_read", ["calendar_id", "deleted_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eventtombstone_deleted_at"), ["deleted_at"], unique=False
        )
    _backfill(tombstone)


def _backfill(tombstone: sa.Table) -> None:
    managed = sa.table(
        "managedevent",
        sa.column("calendar_id", sa.String()),
        sa.column("event_id", sa.String()),
        sa.column("provider_event_id", sa.String()),
        sa.column("request", sa.JSON()),
        sa.column("state", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("deleted_at", sa.DateTime()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(managed).where(
            managed.c.state == "deleted",
            managed.c.deleted_at.is_not(None),
            ~managed.c.event_id.startswith(_EXTERNAL_DELETE_PREFIX),
        )
    ).all()
    values: list[dict[str, Any]] = []
    for row in rows:
        request = row.request
        if isinstance(request, str):
            request = json.loads(request)
        request = request if isinstance(request, dict) else {}
        values.append(
            {
                "calendar_id": row.calendar_id,
                "event_id": row.event_id,
                "provider_event_id": row.provider_event_id,
                "summary": str(request.get("summary") or ""),
                "start_text": str(request.get("start") or ""),
                "end_text": str(request.get("end") or ""),
                "all_day": bool(request.get("all_day")),
                "created_at": row.created_at,
                "deleted_at": row.deleted_at,
            }
        )
    if values:
        op.bulk_insert(tombstone, values)


def downgrade() -> None:
    with op.batch_alter_table("eventtombstone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eventtombstone_deleted_at"))
        batch_op.drop_index("ix_tombstone_read")
    op.drop_table("eventtombstone")
