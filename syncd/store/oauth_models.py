"""The OAuth tables (issue 10): grants, their refresh tokens, and authorization codes.

Beside ``syncd.store.models`` (which re-exports them) so neither module outgrows one
sitting's reading; codes and tokens are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from syncd.store.columns import UTCDateTime, utcnow
from syncd.store.columns import utc_field as _utc

__all__ = ["AuthorizationCode", "OAuthGrant", "RefreshToken"]


class OAuthGrant(SQLModel, table=True):
    """One authorization an account gave an application (RFC 6749): what its codes,
    access and refresh tokens hang off, so revoking it revokes them all."""

    id: str = Field(primary_key=True)  # grt_…
    application_id: str = Field(foreign_key="application.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    scope: str = ""
    #: The profile connected (or relinked) in the flow that made the grant.
    linking_profile_id: str | None = None
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    revoked_at: dt.datetime | None = _utc()


class RefreshToken(SQLModel, table=True):
    """A grant's refresh token, stored hashed; rotated on every use (``used_at``)."""

    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(foreign_key="oauthgrant.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    used_at: dt.datetime | None = _utc()
    revoked_at: dt.datetime | None = _utc()


class AuthorizationCode(SQLModel, table=True):
    """A one-time authorization code (stored hashed) waiting for /oauth/token."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(index=True, unique=True)
    application_id: str = Field(foreign_key="application.id", index=True)
    account_id: str = Field(foreign_key="account.id")
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = ""
    profile_id: str | None = None
    #: RFC 7636: the S256 challenge the token request's code_verifier must match.
    code_challenge: str | None = None
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = _utc()
    #: The grant the exchange created: a second use of the code revokes it.
    grant_id: str | None = None
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
