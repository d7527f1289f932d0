"""Applications, their API keys, accounts and account access tokens.

API keys and access tokens are shown once at creation and stored only as hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, func, select

from syncd.errors import ConflictError, NotFoundError, UserError
from syncd.ids import new_id
from syncd.store.crypto import SecretBox, hash_secret, new_api_secret
from syncd.store.models import AccessToken, Account, ApiKey, Application, utcnow


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    api_key: str
    webhook_secret: str


def create_application(session: Session, box: SecretBox, name: str) -> CreatedApplication:
    if session.exec(select(Application).where(Application.name == name)).first() is not None:
        raise ConflictError(f"an application named {name!r} already exists")
    webhook_secret = new_api_secret("whsec")
    application = Application(
        id=new_id("app"),
        name=name,
        webhook_secret_encrypted=box.encrypt({"secret": webhook_secret}),
    )
    session.add(application)
    session.flush()
    api_key = add_api_key(session, application.id)
    return CreatedApplication(application, api_key, webhook_secret)


def add_api_key(session: Session, application_id: str) -> str:
    api_key = new_api_secret("sk")
    session.add(ApiKey(application_id=application_id, key_hash=hash_secret(api_key)))
    session.flush()
    return api_key


def list_api_keys(session: Session, application_id: str) -> list[ApiKey]:
    """Every key of the application, oldest first, revoked ones included."""
    return list(
        session.exec(
            select(ApiKey).where(ApiKey.application_id == application_id).order_by(ApiKey.id)  # type: ignore[arg-type]
        )
    )


def rotate_api_key(session: Session, application_id: str) -> tuple[ApiKey, str]:
    """A new key for the application; older keys stay valid until revoked, so clients can
    switch over without an outage. Returns the row and the key (shown once)."""
    api_key = new_api_secret("sk")
    row = ApiKey(application_id=application_id, key_hash=hash_secret(api_key))
    session.add(row)
    session.flush()
    return row, api_key


def revoke_api_key(session: Session, application_id: str, key_id: int) -> ApiKey:
    """Stop accepting one key of the application (effective on the next request)."""
    row = session.get(ApiKey, key_id)
    if row is None or row.application_id != application_id:
        raise NotFoundError(f"application {application_id} has no API key {key_id}")
    if row.revoked_at is not None:
        raise ConflictError(f"API key {key_id} is already revoked")
    row.revoked_at = utcnow()
    session.add(row)
    return row


def find_application(session: Session, ref: str) -> Application:
    """By id (``app_…``) or by name."""
    application = session.get(Application, ref)
    if application is None:
        application = session.exec(select(Application).where(Application.name == ref)).first()
    if application is None:
        raise NotFoundError(f"no application {ref!r}")
    return application


def application_for_api_key(session: Session, api_key: str) -> Application | None:
    row = session.exec(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(api_key), ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    return session.get(Application, row.application_id) if row else None


def webhook_secret(box: SecretBox, application: Application) -> str:
    return str(box.decrypt(application.webhook_secret_encrypted)["secret"])


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"unknown time zone {name!r}", code="invalid_timezone") from None
    return name


def create_account(
    session: Session,
    application_id: str,
    email: str,
    name: str = "",
    timezone: str = "Etc/UTC",
) -> Account:
    """A new account; ``email`` is validated and normalised, and unique (ignoring case)
    within the application."""
    email = normalised_email(email)
    taken = session.exec(
        select(Account.id).where(
            Account.application_id == application_id,
            func.lower(Account.email) == email.lower(),
        )
    ).first()
    if taken is not None:
        raise ConflictError(f"the application already has an account with email {email} ({taken})")
    account = Account(
        id=new_id("acc"),
        application_id=application_id,
        email=email,
        name=name,
        timezone=validate_timezone(timezone),
    )
    session.add(account)
    session.flush()
    return account


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def normalised_email(email: str) -> str:
    """``email`` without surrounding spaces and with its domain in lower case; a
    :class:`UserError` when it is not an address (``local@domain.tld``)."""
    address = email.strip()
    if not _EMAIL.fullmatch(address):
        shown = f"{address!r} is not" if address else "an empty email is not"
        raise UserError(f"{shown} an email address (local@domain.tld)", code="invalid_email")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def find_account(session: Session, account_id: str, application_id: str | None = None) -> Account:
    """An account, optionally only if it belongs to ``application_id`` (tenant isolation)."""
    account = session.get(Account, account_id)
    if account is None or (application_id is not None and account.application_id != application_id):
        raise NotFoundError(f"no account {account_id!r}")
    return account


def list_accounts(session: Session, application_id: str | None = None) -> list[Account]:
    query = select(Account).order_by(Account.created_at)  # type: ignore[arg-type]
    if application_id is not None:
        query = query.where(Account.application_id == application_id)
    return list(session.exec(query))


def issue_access_token(session: Session, account_id: str) -> str:
    token = new_api_secret("at")
    session.add(AccessToken(account_id=account_id, token_hash=hash_secret(token)))
    session.flush()
    return token


def revoke_access_tokens(session: Session, account_id: str) -> int:
    rows = session.exec(
        select(AccessToken).where(
            AccessToken.account_id == account_id,
            AccessToken.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
        session.add(row)
    return len(rows)


def account_for_access_token(session: Session, token: str) -> Account | None:
    row = session.exec(
        select(AccessToken).where(
            AccessToken.token_hash == hash_secret(token),
            AccessToken.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).first()
    return session.get(Account, row.account_id) if row else None
