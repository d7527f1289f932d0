"""scheduling links and bookings

Revision ID: 5b2d8f1a6c34
Revises: 0144324ef992
Create Date: 2026-12-02 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import syncd.store.models

revision = "5b2d8f1a6c34"
down_revision = "0144324ef992"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "schedulinglink",
        sa.Column("id", _text(), nullable=False),
        sa.Column("application_id", _text(), nullable=False),
        sa.Column("token_hash", _text(), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        sa.Column("display_message", sa.Text(), nullable=True),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("created_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_schedulinglink_application_id"), "schedulinglink", ["application_id"])
    op.create_index(
        op.f("ix_schedulinglink_token_hash"), "schedulinglink", ["token_hash"], unique=True
    )
    op.create_table(
        "booking",
        sa.Column("id", _text(), nullable=False),
        sa.Column("link_id", _text(), nullable=False),
        sa.Column("application_id", _text(), nullable=False),
        sa.Column("start_utc", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("end_utc", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        sa.Column("invitee_name", _text(), nullable=False),
        sa.Column("invitee_email", _text(), nullable=False),
        sa.Column("invitee_tzid", _text(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("reschedule_token_hash", _text(), nullable=True),
        sa.Column("cancel_token_hash", _text(), nullable=True),
        sa.Column("created_at", syncd.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["link_id"], ["schedulinglink.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_booking_link", "booking", ["link_id", "status"])
    op.create_index(op.f("ix_booking_application_id"), "booking", ["application_id"])
    op.create_index(op.f("ix_booking_reschedule_token_hash"), "booking", ["reschedule_token_hash"])
    op.create_index(op.f("ix_booking_cancel_token_hash"), "booking", ["cancel_token_hash"])
    op.create_table(
        "bookinghold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", _text(), nullable=False),
        sa.Column("account_id", _text(), nullable=False),
        sa.Column("start_utc", syncd.store.models.UTCDateTime(), nullable=False),
        sa.Column("end_utc", syncd.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bookinghold_range", "bookinghold", ["account_id", "start_utc", "end_utc"])
    op.create_index(op.f("ix_bookinghold_booking_id"), "bookinghold", ["booking_id"])


def downgrade() -> None:
    op.drop_table("bookinghold")
    op.drop_table("booking")
    op.drop_table("schedulinglink")
