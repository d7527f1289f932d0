"""TOTP second factor (RFC 6238 with pyotp) and single-use recovery codes.

The TOTP secret is encrypted with the store's key ring (``SecretBox``); it is shown to
the person once, as a QR code and a manual key, and takes effect only when a first code
confirms it. A code is accepted at most once: the last accepted time step is stored.
Recovery codes are random (80 bits), shown once, stored as SHA-256 and used once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pyotp
from sqlmodel import Session, select

from syncd.errors import ConflictError, invalid
from syncd.store.crypto import SecretBox, hash_secret
from syncd.store.models import Account, AccountCredential, RecoveryCode

#: Codes of this many 30-second steps before and after now are accepted (clock drift).
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


@dataclass(frozen=True)
class TotpSetup:
    """A secret waiting for its first code: the key to type and the ``otpauth://`` URI."""

    secret: str
    provisioning_uri: str


def credential_of(session: Session, account_id: str) -> AccountCredential:
    """The account's credential row, created empty when it has none yet."""
    row = session.get(AccountCredential, account_id)
    if row is None:
        row = AccountCredential(account_id=account_id)
        session.add(row)
        session.flush()
    return row


def totp_enabled(session: Session, account_id: str) -> bool:
    row = session.get(AccountCredential, account_id)
    return row is not None and row.totp_enabled_at is not None


def begin_totp_setup(
    session: Session, box: SecretBox, account: Account, issuer: str = "syncd"
) -> TotpSetup:
    """A new secret stored (encrypted) but not yet in force; replaces an unconfirmed one.
    An account that already has TOTP must turn it off first (so a stolen session cannot
    silently move the second factor)."""
    row = credential_of(session, account.id)
    if row.totp_enabled_at is not None:
        raise ConflictError("two-step sign-in is already on; turn it off first")
    secret = pyotp.random_base32()
    row.totp_secret_encrypted = box.encrypt({"totp_secret": secret})
    row.totp_last_step = None
    session.add(row)
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=issuer)
    return TotpSetup(secret, uri)


def pending_totp_setup(
    session: Session, box: SecretBox, account: Account, issuer: str = "syncd"
) -> TotpSetup | None:
    """The unconfirmed secret begun by :func:`begin_totp_setup`, if any (to show again)."""
    row = session.get(AccountCredential, account.id)
    if row is None or row.totp_enabled_at is not None or row.totp_secret_encrypted is None:
        return None
    secret = str(box.decrypt(row.totp_secret_encrypted)["totp_secret"])
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=issuer)
    return TotpSetup(secret, uri)


def confirm_totp_setup(
    session: Session, box: SecretBox, account_id: str, code: str, now: dt.datetime
) -> list[str]:
    """Turn TOTP on with its first code; returns the ten new recovery codes (shown once)."""
    row = credential_of(session, account_id)
    if row.totp_enabled_at is not None:
        raise ConflictError("two-step sign-in is already on")
    if row.totp_secret_encrypted is None:
        raise invalid("code", "errors.no_setup", "start the set-up again: no key is waiting")
    if not _accept_code(row, box, code, now):
        raise invalid("code", "errors.invalid_code", "that code is not right; try the next one")
    row.totp_enabled_at = now
    session.add(row)
    return regenerate_recovery_codes(session, account_id, now)


def disable_totp(session: Session, account_id: str) -> None:
    """Turn TOTP off: the secret and the recovery codes are deleted."""
    row = credential_of(session, account_id)
    row.totp_secret_encrypted = None
    row.totp_enabled_at = None
    row.totp_last_step = None
    session.add(row)
    for code in session.exec(select(RecoveryCode).where(RecoveryCode.account_id == account_id)):
        session.delete(code)


def verify_totp(
    session: Session, box: SecretBox, account_id: str, code: str, now: dt.datetime
) -> bool:
    """Whether ``code`` is a current, unused TOTP code of the account (and use it up)."""
    row = session.get(AccountCredential, account_id)
    if row is None or row.totp_enabled_at is None or row.totp_secret_encrypted is None:
        return False
    accepted = _accept_code(row, box, code, now)
    if accepted:
        session.add(row)
    return accepted


def _accept_code(row: AccountCredential, box: SecretBox, code: str, now: dt.datetime) -> bool:
    digits = "".join(code.split())
    if row.totp_secret_encrypted is None or not (digits.isdigit() and len(digits) == 6):
        return False
    totp = pyotp.TOTP(str(box.decrypt(row.totp_secret_encrypted)["totp_secret"]))
    step_now = int(now.timestamp()) // totp.interval
    for step in range(step_now - VALID_WINDOW, step_now + VALID_WINDOW + 1):
        if row.totp_last_step is not None and step <= row.totp_last_step:
            continue  # a code already used, or older than one used: replay
        if secrets.compare_digest(totp.generate_otp(step), digits):
            row.totp_last_step = step
            return True
    return False


def regenerate_recovery_codes(session: Session, account_id: str, now: dt.datetime) -> list[str]:
    """Ten new recovery codes; every older one stops working. Returns them (shown once)."""
    for old in session.exec(select(RecoveryCode).where(RecoveryCode.account_id == account_id)):
        session.delete(old)
    session.flush()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        session.add(
            RecoveryCode(account_id=account_id, code_hash=_recovery_hash(code), created_at=now)
        )
    session.flush()
    return codes


def unused_recovery_codes(session: Session, account_id: str) -> int:
    rows = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.used_at.is_(None),  # type: ignore[union-attr]
        )
    )
    return len(list(rows))


def use_recovery_code(session: Session, account_id: str, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is an unused recovery code of the account; it is used up if so."""
    row = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),  # type: ignore[union-attr]
        )
    ).first()
    if row is None:
        return False
    row.used_at = now
    session.add(row)
    return True


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _recovery_hash(code: str) -> str:
    """Hash of the code as typed, forgiving case, spaces and dashes."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hash_secret("recovery:" + normal)


def looks_like_recovery_code(code: str) -> bool:
    return len("".join(ch for ch in code if ch.isalnum())) == 16
