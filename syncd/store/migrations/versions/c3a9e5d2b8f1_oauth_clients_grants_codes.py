"""OAuth clients, grants, codes and refresh tokens (issue 10); API keys kept encrypted
for webhook signing (issue 12 item 5)

Revision ID: c3a9e5d2b8f1
Revises: e7c2a9d4f1b8
Create Date: 2026-12-02 07:40:00

Existing applications get a client_id and no redirect URI; their API keys keep working
(looked up by hash) but were never stored in a form that can sign, so they keep signing
webhooks with the webhook secret (``webhook_signing = 'webhook_secret'``) until the
operator rotates the key and switches (``syncd apps webhook-signing``). Existing access
tokens (operator-issued) have no grant and no expiry, as before.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "c3a9e5d2b8f1"
down_revision = "e7c2a9d4f1b8"
branch_labels = None
depends_on = None


def _client_id() -> str:
    return secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


def upgrade() -> None:
    # Plain ADD COLUMNs: on SQLite a batch rebuild of this parent table would trip the
    # foreign keys of its children.
    op.add_column(
        "application", sa.Column("client_id", sa.String(), nullable=False, server_default="")
    )
    op.add_column(
        "application", sa.Column("redirect_uris", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column(
        "application",
        sa.Column("webhook_signing", sa.String(), nullable=False, server_default="webhook_secret"),
    )
    connection = op.get_bind()
    application = sa.table("application", sa.column("id"), sa.column("client_id"))
    for (application_id,) in connection.execute(sa.select(application.c.id)).all():
        connection.execute(
            application.update()
            .where(application.c.id == application_id)
            .values(client_id=_client_id())
        )
    op.create_index("ix_application_client_id", "application", ["client_id"], unique=True)

    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_encrypted", sa.Text(), nullable=True))

    op.create_table(
        "oauthgrant",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("linking_profile_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oauthgrant_account_id", "oauthgrant", ["account_id"])
    op.create_index("ix_oauthgrant_application_id", "oauthgrant", ["application_id"])

    with op.batch_alter_table("accesstoken", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_accesstoken_grant_id", ["grant_id"])
        batch_op.create_foreign_key(
            "fk_accesstoken_grant_id_oauthgrant", "oauthgrant", ["grant_id"], ["id"]
        )

    op.create_table(
        "refreshtoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauthgrant.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refreshtoken_grant_id", "refreshtoken", ["grant_id"])
    op.create_index("ix_refreshtoken_token_hash", "refreshtoken", ["token_hash"], unique=True)

    op.create_table(
        "authorizationcode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("profile_id", sa.String(), nullable=True),
        sa.Column("code_challenge", sa.String(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("grant_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_authorizationcode_application_id", "authorizationcode", ["application_id"])
    op.create_index(
        "ix_authorizationcode_code_hash", "authorizationcode", ["code_hash"], unique=True
    )


def downgrade() -> None:
    op.drop_table("authorizationcode")
    op.drop_table("refreshtoken")
    with op.batch_alter_table("accesstoken", schema=None) as batch_op:
        batch_op.drop_constraint("fk_accesstoken_grant_id_oauthgrant", type_="foreignkey")
        batch_op.drop_index("ix_accesstoken_grant_id")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("grant_id")
    op.drop_table("oauthgrant")
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.drop_column("secret_encrypted")
    op.drop_index("ix_application_client_id", table_name="application")
    for column in ("webhook_signing", "redirect_uris", "client_id"):
        op.drop_column("application", column)
