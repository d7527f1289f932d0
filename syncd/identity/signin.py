"""Signing in to the hosted pages: password, then TOTP or a recovery code, rate limited.

Every attempt is recorded (``SignInAttempt``). Failures lock, for the rest of the window:

- an account (email within one application) after ``max_per_account`` failures since
  its last successful sign-in;
- a client address after ``max_per_address`` failures, whatever the accounts.

A locked attempt is refused before the password is even checked, with the time the
person may try again. Wrong emails and wrong passwords get the same answer (and cost
the same time), so the page does not tell which emails have accounts.

These functions record and return an outcome rather than raise, so the attempt is
committed with the caller's transaction even when it failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from syncd.errors import TooManyAttempts
from syncd.identity.accounts import create_account_with_password
from syncd.identity.passwords import verify_password
from syncd.identity.sessions import ClientInfo
from syncd.identity.totp import totp_enabled, use_recovery_code, verify_totp
from syncd.store.crypto import SecretBox
from syncd.store.models import Account, AccountCredential, Application, SignInAttempt

ACCOUNT = "account"
OPERATOR = "operator"
WRONG_CREDENTIALS = "That email and password do not match an account."
WRONG_CODE = "That code is not right. Enter the current code from your app, or a recovery code."


@dataclass(frozen=True)
class SignInLimits:
    """How many failures lock an account or an address, within what window."""

    max_per_account: int = 5
    max_per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class SignInOutcome:
    """What an attempt came to. ``account`` is set when the step succeeded;
    ``needs_second_factor`` when the password was right and a TOTP code must follow;
    otherwise ``error`` says why not (``locked`` too, when it is a lockout)."""

    account: Account | None = None
    needs_second_factor: bool = False
    error: str | None = None
    locked: TooManyAttempts | None = None

    @property
    def ok(self) -> bool:
        return self.account is not None


def normal_login(email: str) -> str:
    return email.strip().lower()


def find_account_by_email(session: Session, application_id: str, email: str) -> Account | None:
    """The application's account with this email (case ignored); never another
    application's."""
    return session.exec(
        select(Account).where(
            Account.application_id == application_id,
            func.lower(Account.email) == normal_login(email),
        )
    ).first()


@dataclass(frozen=True)
class Login:
    """Who is signing in: an application's email (lower case), or the operator."""

    kind: str
    application_id: str | None
    login: str


def check_not_locked(
    session: Session, limits: SignInLimits, who: Login, client: ClientInfo, now: dt.datetime
) -> None:
    """Raise :class:`TooManyAttempts` (with when to retry) if the login or the address
    is locked."""
    kind, application_id, login = who.kind, who.application_id, who.login
    since = now - limits.window
    last_success = session.exec(
        select(func.max(SignInAttempt.at)).where(
            SignInAttempt.kind == kind,
            SignInAttempt.application_id == application_id,
            SignInAttempt.login == login,
            SignInAttempt.succeeded == True,  # noqa: E712 (SQL)
        )
    ).one()
    login_since = max(since, last_success) if last_success is not None else since
    login_failures = _failure_times(
        session,
        limits.max_per_account,
        (
            SignInAttempt.kind == kind,
            SignInAttempt.application_id == application_id,
            SignInAttempt.login == login,
            SignInAttempt.at > login_since,
        ),
    )
    address_failures = (
        _failure_times(
            session,
            limits.max_per_address,
            (SignInAttempt.client_address == client.address, SignInAttempt.at > since),
        )
        if client.address
        else []
    )
    retry_at: dt.datetime | None = None
    if len(login_failures) >= limits.max_per_account:
        retry_at = login_failures[-1] + limits.window
    if len(address_failures) >= limits.max_per_address:
        at = address_failures[-1] + limits.window
        retry_at = at if retry_at is None else max(retry_at, at)
    if retry_at is not None:
        raise TooManyAttempts(_lockout_message(retry_at, now), retry_at=retry_at, now=now)


def _failure_times(
    session: Session, limit: int, conditions: tuple[object, ...]
) -> list[dt.datetime]:
    """The newest ``limit`` failures' times matching ``conditions``, newest first."""
    rows = session.exec(
        select(SignInAttempt.at)
        .where(SignInAttempt.succeeded == False, *conditions)  # type: ignore[arg-type]  # noqa: E712
        .order_by(col(SignInAttempt.at).desc())
        .limit(limit)
    )
    return list(rows)


#: ``SignInAttempt.method`` of an account created by signing up (a successful attempt).
SIGN_UP = "sign_up"
SIGN_UP_WINDOW = dt.timedelta(hours=1)


def check_sign_up_allowed(
    session: Session, max_per_address: int, client: ClientInfo, now: dt.datetime
) -> None:
    """Raise :class:`TooManyAttempts` when ``client``'s address has created
    ``max_per_address`` accounts within the last hour: anyone may sign up through an
    application's authorization flow, so one address may not mint accounts in bulk."""
    if not client.address:
        return
    created = list(
        session.exec(
            select(SignInAttempt.at)
            .where(
                SignInAttempt.method == SIGN_UP,
                SignInAttempt.client_address == client.address[:64],
                SignInAttempt.at > now - SIGN_UP_WINDOW,
            )
            .order_by(col(SignInAttempt.at))
            .limit(max_per_address)
        )
    )
    if len(created) >= max_per_address:
        retry_at = created[0] + SIGN_UP_WINDOW
        minutes = max(1, round((retry_at - now).total_seconds() / 60))
        raise TooManyAttempts(
            f"Too many new accounts from this network. Try again in about {minutes} minutes, "
            "or sign in with an account you already have.",
            retry_at=retry_at,
            now=now,
        )


def _lockout_message(retry_at: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, round((retry_at - now).total_seconds() / 60))
    when = retry_at.astimezone(dt.UTC).strftime("%H:%M UTC")
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-in attempts. Try again after {when} (in about {minutes} {unit})."


def record_attempt(
    session: Session,
    who: Login,
    client: ClientInfo,
    now: dt.datetime,
    *,
    succeeded: bool,
    method: str,
    account_id: str | None = None,
) -> None:
    session.add(
        SignInAttempt(
            kind=who.kind,
            application_id=who.application_id,
            login=who.login[:320],
            account_id=account_id,
            client_address=client.address[:64],
            user_agent=client.user_agent[:512],
            succeeded=succeeded,
            method=method,
            at=now,
        )
    )
    session.flush()


def verify_password_sign_in(
    session: Session,
    limits: SignInLimits,
    *,
    application_id: str,
    email: str,
    password: str,
    client: ClientInfo,
    now: dt.datetime,
) -> SignInOutcome:
    """The password step: the account when the password is right (``needs_second_factor``
    if it has TOTP), else an error; a stored hash with old parameters is replaced."""
    login = normal_login(email)
    scope = Login(ACCOUNT, application_id, login)
    try:
        check_not_locked(session, limits, scope, client, now)
    except TooManyAttempts as locked:
        return SignInOutcome(error=locked.message, locked=locked)
    account = find_account_by_email(session, application_id, login)
    credential = session.get(AccountCredential, account.id) if account else None
    matches, new_hash = verify_password(credential.password_hash if credential else None, password)
    if account is None or credential is None or not matches:
        record_attempt(
            session,
            scope,
            client,
            now,
            succeeded=False,
            method="password",
            account_id=account.id if account else None,
        )
        return _failure(session, limits, scope, client, now, WRONG_CREDENTIALS)
    if new_hash is not None:
        credential.password_hash = new_hash
        session.add(credential)
    if totp_enabled(session, account.id):
        return SignInOutcome(account=account, needs_second_factor=True)
    record_attempt(
        session, scope, client, now, succeeded=True, method="password", account_id=account.id
    )
    return SignInOutcome(account=account)


def verify_second_factor(
    session: Session,
    box: SecretBox,
    limits: SignInLimits,
    *,
    account: Account,
    code: str,
    client: ClientInfo,
    now: dt.datetime,
) -> SignInOutcome:
    """The second step: a current TOTP code, or one unused recovery code (used up)."""
    scope = Login(ACCOUNT, account.application_id, normal_login(account.email))
    try:
        check_not_locked(session, limits, scope, client, now)
    except TooManyAttempts as locked:
        return SignInOutcome(error=locked.message, locked=locked)
    method = "totp"
    accepted = verify_totp(session, box, account.id, code, now)
    if not accepted and not code.strip().isdigit():
        method = "recovery_code"
        accepted = use_recovery_code(session, account.id, code, now)
    record_attempt(
        session, scope, client, now, succeeded=accepted, method=method, account_id=account.id
    )
    if not accepted:
        return _failure(session, limits, scope, client, now, WRONG_CODE)
    return SignInOutcome(account=account)


def _failure(
    session: Session,
    limits: SignInLimits,
    scope: Login,
    client: ClientInfo,
    now: dt.datetime,
    message: str,
) -> SignInOutcome:
    """A failed step: the lockout message if this failure locked it, else ``message``."""
    try:
        check_not_locked(session, limits, scope, client, now)
    except TooManyAttempts as locked:
        return SignInOutcome(error=locked.message, locked=locked)
    return SignInOutcome(error=message)


def recent_sign_ins(session: Session, account_id: str, limit: int = 10) -> list[SignInAttempt]:
    """The account's latest attempts, failed ones too (so a person notices them)."""
    rows = session.exec(
        select(SignInAttempt)
        .where(SignInAttempt.account_id == account_id)
        .order_by(col(SignInAttempt.at).desc())
        .limit(limit)
    )
    return list(rows)


def application_for_sign_in(session: Session, application_id: str | None) -> Application | None:
    """The application a sign-in page is for (by id, as sign-in links carry it)."""
    if not application_id or not application_id.startswith("app_"):
        return None
    return session.get(Application, application_id)


def sign_up(
    session: Session,
    max_per_address: int,
    application_id: str,
    email: str,
    password: str,
    *,
    name: str,
    timezone: str,
    client: ClientInfo,
    now: dt.datetime,
) -> Account:
    """A person creates their own account in the authorization flow: refused once their
    address has made ``max_per_address`` accounts this hour, recorded (as a successful
    attempt) so the next one counts it."""
    check_sign_up_allowed(session, max_per_address, client, now)
    account = create_account_with_password(
        session, application_id, email, password, name=name, timezone=timezone, now=now
    )
    who = Login(ACCOUNT, application_id, normal_login(email))
    record_attempt(session, who, client, now, succeeded=True, method=SIGN_UP, account_id=account.id)
    return account
