"""Applications, their API keys, accounts and account access tokens.

An application's API key is its OAuth ``client_secret``: shown once at creation, looked
up by its hash, and kept encrypted (never in plain) so webhooks can be signed with it.
Access tokens are stored only as hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from syncd.errors import ConflictError, NotFoundError, UserError
from syncd.ids import new_id
from syncd.store.crypto import SecretBox, hash_secret, new_api_secret
from syncd.store.models import AccessToken, Account, ApiKey, Application, utcnow
from syncd.store.redirects import validated_redirect_uri

#: ``Application.webhook_signing`` values: sign with the API keys (Cronofy's way) or with
#: the separate webhook secret.
SIGN_WITH_CLIENT_SECRET = "client_secret"
SIGN_WITH_WEBHOOK_SECRET = "webhook_secret"
WEBHOOK_SIGNING_MODES = (SIGN_WITH_CLIENT_SECRET, SIGN_WITH_WEBHOOK_SECRET)


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    api_key: str
    webhook_secret: str

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def client_secret(self) -> str:
        """The API key is the OAuth client_secret (Cronofy: one secret for both)."""
        return self.api_key


def new_client_id() -> str:
    """A public OAuth client id: random, URL-safe, no prefix (like Cronofy's)."""
    return new_id("x", 24)[2:]


def create_application(
    session: Session,
    box: SecretBox,
    name: str,
    redirect_uris: list[str] | None = None,
    webhook_signing: str = SIGN_WITH_CLIENT_SECRET,
) -> CreatedApplication:
    if session.exec(select(Application).where(Application.name == name)).first() is not None:
        raise ConflictError(f"an application named {name!r} already exists")
    webhook_secret = new_api_secret("whsec")
    application = Application(
        id=new_id("app"),
        name=name,
        client_id=new_client_id(),
        redirect_uris=_checked_uris(redirect_uris or []),
        webhook_signing=_checked_signing(webhook_signing),
        webhook_secret_encrypted=box.encrypt({"secret": webhook_secret}),
    )
    session.add(application)
    session.flush()
    api_key = add_api_key(session, box, application.id)
    return CreatedApplication(application, api_key, webhook_secret)


def _checked_uris(uris: list[str]) -> list[str]:
    checked: list[str] = []
    for uri in uris:
        valid = validated_redirect_uri(uri)
        if valid not in checked:
            checked.append(valid)
    return checked


def _checked_signing(mode: str) -> str:
    if mode not in WEBHOOK_SIGNING_MODES:
        raise UserError(
            f"webhook signing must be one of {', '.join(WEBHOOK_SIGNING_MODES)}, not {mode!r}",
            code="invalid_webhook_signing",
        )
    return mode


def set_redirect_uris(session: Session, application: Application, uris: list[str]) -> list[str]:
    """Replace the application's registered redirect URIs (each checked)."""
    application.redirect_uris = _checked_uris(uris)
    session.add(application)
    return list(application.redirect_uris)


def set_webhook_signing(
    session: Session, box: SecretBox, application: Application, mode: str
) -> None:
    """Choose what signs the application's webhooks. Signing with the client_secret needs
    a key syncd can read (one issued since keys are kept encrypted: rotate first)."""
    mode = _checked_signing(mode)
    if mode == SIGN_WITH_CLIENT_SECRET and not client_secrets(box, session, application.id):
        raise UserError(
            f"{application.id} has no API key syncd can sign with (keys issued before "
            f"syncd kept them encrypted): run `syncd apps rotate-key {application.id}` first",
            code="no_signing_key",
        )
    application.webhook_signing = mode
    session.add(application)


def add_api_key(session: Session, box: SecretBox, application_id: str) -> str:
    api_key = new_api_secret("sk")
    session.add(_key_row(box, application_id, api_key))
    session.flush()
    return api_key


def _key_row(box: SecretBox, application_id: str, api_key: str) -> ApiKey:
    return ApiKey(
        application_id=application_id,
        key_hash=hash_secret(api_key),
        secret_encrypted=box.encrypt({"secret": api_key}),
    )


def client_secrets(box: SecretBox, session: Session, application_id: str) -> list[str]:
    """The application's valid API keys syncd can read, newest first (older keys were
    stored as hashes only)."""
    rows = session.exec(
        select(ApiKey)
        .where(
            ApiKey.application_id == application_id,
            ApiKey.revoked_at.is_(None),  # type: ignore[union-attr]
            ApiKey.secret_encrypted.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(ApiKey.id.desc())  # type: ignore[union-attr]
    ).all()
    return [str(box.decrypt(row.secret_encrypted or "")["secret"]) for row in rows]


def signing_secrets(box: SecretBox, session: Session, application: Application) -> list[str]:
    """What signs the application's webhooks: every valid client_secret (several during a
    key rotation: each gets a signature), or the webhook secret when the application
    chose it or has no readable key."""
    if application.webhook_signing == SIGN_WITH_CLIENT_SECRET:
        secrets = client_secrets(box, session, application.id)
        if secrets:
            return secrets
    return [webhook_secret(box, application)]


def list_api_keys(session: Session, application_id: str) -> list[ApiKey]:
    """Every key of the application, oldest first, revoked ones included."""
    return list(
        session.exec(
            select(ApiKey).where(ApiKey.application_id == application_id).order_by(ApiKey.id)  # type: ignore[arg-type]
        )
    )


def rotate_api_key(session: Session, box: SecretBox, application_id: str) -> tuple[ApiKey, str]:
    """A new key for the application; older keys stay valid until revoked, so clients can
    switch over without an outage (webhooks carry one signature per valid key meanwhile).
    Returns the row and the key (shown once)."""
    api_key = new_api_secret("sk")
    row = _key_row(box, application_id, api_key)
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
    """By id (``app_…``), name or client_id."""
    application = session.get(Application, ref)
    if application is None:
        application = session.exec(select(Application).where(Application.name == ref)).first()
    if application is None:
        application = application_for_client_id(session, ref)
    if application is None:
        raise NotFoundError(f"no application {ref!r}")
    return application


def list_applications(session: Session) -> list[Application]:
    return list(session.exec(select(Application).order_by(Application.created_at)))  # type: ignore[arg-type]


def application_for_client_id(session: Session, client_id: str) -> Application | None:
    return session.exec(select(Application).where(Application.client_id == client_id)).first()


def application_for_api_key(session: Session, api_key: str) -> Application | None:
    """The application of an unrevoked API key (one joined read: every request asks)."""
    return session.exec(
        select(Application)
        .join(ApiKey, col(ApiKey.application_id) == col(Application.id))
        .where(col(ApiKey.key_hash) == hash_secret(api_key), col(ApiKey.revoked_at).is_(None))
    ).first()


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


_ACCOUNT_TABLE = Account.__table__  # type: ignore[attr-defined]
#: Built once, on the table: every sync run reads it.
_ACCOUNT_TIMEZONE = core_select(_ACCOUNT_TABLE.c.timezone).where(
    _ACCOUNT_TABLE.c.id == bindparam("account_id")
)


def account_timezone(session: Session, account_id: str) -> str | None:
    """The account's time zone, read without loading the row; None without the account."""
    zone = session.execute(_ACCOUNT_TIMEZONE, {"account_id": account_id}).scalar()
    return None if zone is None else str(zone)


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


def valid_access_token(session: Session, token: str) -> AccessToken | None:
    """The token's row if it is neither revoked nor expired (operator-issued tokens
    have no expiry)."""
    row = session.exec(
        select(AccessToken).where(
            AccessToken.token_hash == hash_secret(token),
            AccessToken.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    return row


def account_for_access_token(session: Session, token: str) -> Account | None:
    row = valid_access_token(session, token)
    return session.get(Account, row.account_id) if row else None
