"""syncd.identity on SQLite and Postgres: passwords, TOTP, recovery codes, sessions,
sign-in limits and invites."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import Engine

from syncd.errors import ConflictError, FieldErrors
from syncd.identity.accounts import (
    account_for_invite,
    change_email,
    change_password,
    create_account_with_password,
    create_invite,
    redeem_invite,
)
from syncd.identity.passwords import hash_password, verify_password
from syncd.identity.sessions import (
    SECOND_FACTOR,
    ClientInfo,
    SessionPolicy,
    end_other_sessions,
    find_session,
    start_session,
)
from syncd.identity.signin import SignInLimits, verify_password_sign_in, verify_second_factor
from syncd.identity.totp import begin_totp_setup, confirm_totp_setup
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, AccountCredential
from syncd.store.tenants import create_application

pytestmark = pytest.mark.store

NOW = dt.datetime(2030, 1, 7, 12, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
CLIENT = ClientInfo("203.0.113.7", "test")
POLICY = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=8))
LIMITS = SignInLimits(max_per_account=3, max_per_address=5, window=dt.timedelta(minutes=15))


@pytest.fixture
def app_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        return create_application(session, box, "tenant").application.id


@pytest.fixture
def account(engine: Engine, app_id: str) -> Account:
    with session_scope(engine) as session:
        return create_account_with_password(session, app_id, "pat@example.com", PASSWORD, now=NOW)


def password_step(
    engine: Engine,
    app_id: str,
    password: str,
    at: dt.datetime = NOW,
    client: ClientInfo = CLIENT,
    email: str = "pat@example.com",
):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return verify_password_sign_in(
            session,
            LIMITS,
            application_id=app_id,
            email=email,
            password=password,
            client=client,
            now=at,
        )


def test_passwords_are_stored_as_argon2id(engine: Engine, account: Account) -> None:
    with session_scope(engine) as session:
        stored = session.get(AccountCredential, account.id)
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")


def test_an_old_hash_is_replaced_at_sign_in(engine: Engine, app_id: str, account: Account) -> None:
    from argon2 import PasswordHasher  # noqa: PLC0415

    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with session_scope(engine) as session:
        row = session.get(AccountCredential, account.id)
        assert row is not None
        row.password_hash = weak
        session.add(row)
    assert password_step(engine, app_id, PASSWORD).ok
    with session_scope(engine) as session:
        row = session.get(AccountCredential, account.id)
    assert row is not None and row.password_hash != weak
    assert verify_password(row.password_hash, PASSWORD) == (True, None)


def test_a_short_password_is_refused() -> None:
    with pytest.raises(FieldErrors):
        create_account_with_password(None, "app_x", "a@example.com", "short", now=NOW)  # type: ignore[arg-type]


def test_the_email_is_looked_up_within_the_application_only(
    engine: Engine, box: SecretBox, account: Account
) -> None:
    with session_scope(engine) as session:
        other = create_application(session, box, "other").application.id
    outcome = password_step(engine, other, PASSWORD)
    assert not outcome.ok and outcome.error is not None


def test_the_same_email_may_have_an_account_in_each_application(
    engine: Engine, box: SecretBox, account: Account
) -> None:
    with session_scope(engine) as session:
        other = create_application(session, box, "other").application.id
        create_account_with_password(session, other, "pat@example.com", "another password", now=NOW)
    assert password_step(engine, other, "another password").ok
    assert not password_step(engine, other, PASSWORD).ok


def test_email_case_is_ignored_at_sign_in(engine: Engine, app_id: str, account: Account) -> None:
    assert password_step(engine, app_id, PASSWORD, email=" PAT@Example.com ").ok


def test_failures_lock_the_account_until_the_window_passes(
    engine: Engine, app_id: str, account: Account
) -> None:
    for minute in range(3):
        outcome = password_step(engine, app_id, "wrong", at=NOW + dt.timedelta(minutes=minute))
    assert outcome.locked is not None
    assert outcome.locked.retry_at == NOW + dt.timedelta(minutes=15)
    locked = password_step(engine, app_id, PASSWORD, at=NOW + dt.timedelta(minutes=5))
    assert not locked.ok and locked.error and "Try again after 12:15 UTC" in locked.error
    assert password_step(engine, app_id, PASSWORD, at=NOW + dt.timedelta(minutes=15, seconds=1)).ok


def test_a_success_resets_the_account_s_count(
    engine: Engine, app_id: str, account: Account
) -> None:
    password_step(engine, app_id, "wrong")
    password_step(engine, app_id, "wrong")
    assert password_step(engine, app_id, PASSWORD).ok
    assert password_step(engine, app_id, "wrong").locked is None


def test_failures_from_one_address_lock_that_address(
    engine: Engine, app_id: str, account: Account
) -> None:
    for number in range(5):
        password_step(engine, app_id, "wrong", email=f"nobody{number}@example.com")
    assert password_step(engine, app_id, PASSWORD).locked is not None
    assert password_step(engine, app_id, PASSWORD, client=ClientInfo("198.51.100.1")).ok


def totp_on(engine: Engine, box: SecretBox, account: Account) -> str:
    with session_scope(engine) as session:
        secret = begin_totp_setup(session, box, account).secret
        confirm_totp_setup(session, box, account.id, pyotp.TOTP(secret).at(NOW), NOW)
    return secret


def code_step(engine: Engine, box: SecretBox, account: Account, code: str, at: dt.datetime):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return verify_second_factor(
            session, box, LIMITS, account=account, code=code, client=CLIENT, now=at
        )


def test_an_account_with_totp_needs_its_code_after_the_password(
    engine: Engine, box: SecretBox, app_id: str, account: Account
) -> None:
    secret = totp_on(engine, box, account)
    assert password_step(engine, app_id, PASSWORD).needs_second_factor
    later = NOW + dt.timedelta(seconds=60)
    assert code_step(engine, box, account, pyotp.TOTP(secret).at(later), later).ok


def test_a_totp_code_works_once(engine: Engine, box: SecretBox, account: Account) -> None:
    secret = totp_on(engine, box, account)
    later = NOW + dt.timedelta(seconds=60)
    code = pyotp.TOTP(secret).at(later)
    assert code_step(engine, box, account, code, later).ok
    assert not code_step(engine, box, account, code, later).ok


def test_the_totp_secret_is_encrypted_at_rest(
    engine: Engine, box: SecretBox, account: Account
) -> None:
    secret = totp_on(engine, box, account)
    with session_scope(engine) as session:
        row = session.get(AccountCredential, account.id)
    assert row is not None and row.totp_secret_encrypted is not None
    assert secret not in row.totp_secret_encrypted
    assert box.decrypt(row.totp_secret_encrypted)["totp_secret"] == secret


def test_recovery_codes_are_ten_and_single_use(
    engine: Engine, box: SecretBox, account: Account
) -> None:
    with session_scope(engine) as session:
        secret = begin_totp_setup(session, box, account).secret
        codes = confirm_totp_setup(session, box, account.id, pyotp.TOTP(secret).at(NOW), NOW)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert code_step(engine, box, account, codes[0].upper(), NOW).ok
    assert not code_step(engine, box, account, codes[0], NOW).ok
    assert code_step(engine, box, account, codes[1], NOW).ok


def test_totp_cannot_be_set_up_twice(engine: Engine, box: SecretBox, account: Account) -> None:
    totp_on(engine, box, account)
    with session_scope(engine) as session, pytest.raises(ConflictError):
        begin_totp_setup(session, box, account)


def test_sessions_store_only_a_hash_and_end_when_idle_or_old(
    engine: Engine, account: Account
) -> None:
    with session_scope(engine) as session:
        started = start_session(
            session, kind="account", now=NOW, policy=POLICY, client=CLIENT, account=account
        )
        assert started.token not in started.row.token_hash
    with session_scope(engine) as session:
        assert find_session(session, started.token, NOW + dt.timedelta(minutes=29), POLICY)
        assert find_session(session, started.token, NOW + dt.timedelta(minutes=31), POLICY) is None
        assert find_session(session, started.token + "x", NOW, POLICY) is None


def test_a_session_ends_at_its_absolute_expiry_however_busy(
    engine: Engine, account: Account
) -> None:
    with session_scope(engine) as session:
        started = start_session(
            session, kind="account", now=NOW, policy=POLICY, client=CLIENT, account=account
        )
        started.row.last_seen_at = NOW + dt.timedelta(hours=8)
        session.add(started.row)
    with session_scope(engine) as session:
        assert (
            find_session(session, started.token, NOW + dt.timedelta(hours=8, seconds=1), POLICY)
            is None
        )


def test_signing_in_rotates_the_session(engine: Engine, account: Account) -> None:
    with session_scope(engine) as session:
        pending = start_session(
            session,
            kind="account",
            now=NOW,
            policy=POLICY,
            client=CLIENT,
            account=account,
            stage=SECOND_FACTOR,
        )
        full = start_session(
            session,
            kind="account",
            now=NOW,
            policy=POLICY,
            client=CLIENT,
            account=account,
            replaces=pending.row,
        )
    with session_scope(engine) as session:
        assert find_session(session, pending.token, NOW, POLICY) is None
        assert find_session(session, full.token, NOW, POLICY) is not None
        assert full.token != pending.token


def test_signing_out_other_sessions_keeps_this_one(engine: Engine, account: Account) -> None:
    with session_scope(engine) as session:
        mine = start_session(
            session, kind="account", now=NOW, policy=POLICY, client=CLIENT, account=account
        )
        other = start_session(
            session, kind="account", now=NOW, policy=POLICY, client=CLIENT, account=account
        )
    with session_scope(engine) as session:
        assert end_other_sessions(session, account.id, mine.row.id, NOW) == 1
    with session_scope(engine) as session:
        assert find_session(session, mine.token, NOW, POLICY) is not None
        assert find_session(session, other.token, NOW, POLICY) is None


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    engine: Engine, app_id: str, account: Account
) -> None:
    with session_scope(engine) as session:
        other = start_session(
            session, kind="account", now=NOW, policy=POLICY, client=CLIENT, account=account
        )
    with session_scope(engine) as session, pytest.raises(FieldErrors):
        change_password(
            session, account.id, "wrong", "a new long password", keep_session_id=None, now=NOW
        )
    with session_scope(engine) as session:
        change_password(
            session, account.id, PASSWORD, "a new long password", keep_session_id=None, now=NOW
        )
    with session_scope(engine) as session:
        assert find_session(session, other.token, NOW, POLICY) is None
    assert password_step(engine, app_id, "a new long password").ok


def test_changing_the_email_needs_the_password_and_a_free_address(
    engine: Engine, app_id: str, account: Account
) -> None:
    with session_scope(engine) as session:
        create_account_with_password(session, app_id, "sam@example.com", PASSWORD, now=NOW)
    with session_scope(engine) as session, pytest.raises(FieldErrors):
        change_email(session, session.merge(account), "new@example.com", "wrong")
    with session_scope(engine) as session, pytest.raises(ConflictError):
        change_email(session, session.merge(account), "SAM@example.com", PASSWORD)
    with session_scope(engine) as session:
        change_email(session, session.merge(account), "new@example.com", PASSWORD)
    assert password_step(engine, app_id, PASSWORD, email="new@example.com").ok


def test_an_invite_sets_the_password_once(engine: Engine, app_id: str, account: Account) -> None:
    with session_scope(engine) as session:
        token = create_invite(session, account.id, now=NOW, lifetime=dt.timedelta(days=7))
    with session_scope(engine) as session:
        assert account_for_invite(session, token, NOW) is not None
        redeem_invite(session, token, "chosen through the link", NOW)
    with session_scope(engine) as session:
        assert account_for_invite(session, token, NOW) is None
    assert password_step(engine, app_id, "chosen through the link").ok


def test_an_invite_expires_and_a_newer_one_replaces_it(engine: Engine, account: Account) -> None:
    with session_scope(engine) as session:
        first = create_invite(session, account.id, now=NOW, lifetime=dt.timedelta(days=7))
        second = create_invite(session, account.id, now=NOW, lifetime=dt.timedelta(days=7))
    with session_scope(engine) as session:
        assert account_for_invite(session, first, NOW) is None
        assert account_for_invite(session, second, NOW + dt.timedelta(days=7)) is None
        assert account_for_invite(session, second, NOW + dt.timedelta(days=6)) is not None


def test_hash_password_salts_each_hash() -> None:
    assert hash_password(PASSWORD) != hash_password(PASSWORD)
