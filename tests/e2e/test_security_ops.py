"""Security operations an operator runs on a live system: encryption key rotation and API
key rotation/revocation, through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from syncd.api.app import create_app
from syncd.config import load_settings
from syncd.store.crypto import SecretBox, generate_key, reencrypt_secrets
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.models import Application, Profile
from syncd.store.tenants import create_application, webhook_secret
from tests.emulators.google import GoogleCalendarEmulator
from tests.support.cli import CliResult, invoke_cli
from tests.support.fleet import insert_profiles, seed_users


@pytest.fixture
def emulator() -> Iterator[GoogleCalendarEmulator]:
    with GoogleCalendarEmulator() as running:
        yield running


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """``run_cli({"SYNCD_SECRET_KEYS": …}, "keys", "rotate")`` → (status, stdout, stderr)."""

    def run(environment: dict[str, str], *args: str) -> CliResult:
        for key, item in environment.items():
            monkeypatch.setenv(key, item)
        return invoke_cli(monkeypatch, capsys, args)

    return run


def google_environment(url: str, keys: list[str], emulator: GoogleCalendarEmulator) -> dict:
    return {
        "SYNCD_DATABASE_URL": url,
        "SYNCD_SECRET_KEYS": ",".join(keys),
        "SYNCD_GOOGLE__API_BASE_URL": emulator.base_url,
        "SYNCD_GOOGLE__TOKEN_URL": emulator.token_url,
        "SYNCD_GOOGLE__CLIENT_ID": emulator.client_id,
        "SYNCD_GOOGLE__CLIENT_SECRET": emulator.client_secret,
    }


def test_after_keys_rotate_the_old_key_can_be_removed_and_every_profile_still_syncs(
    database: tuple[str, Engine],
    emulator: GoogleCalendarEmulator,
    run_cli: Callable[..., CliResult],
) -> None:
    url, engine = database
    old_key, new_key = generate_key(), generate_key()
    old_box = SecretBox([old_key])
    profiles = insert_profiles(engine, old_box, seed_users(emulator, 5, events=2))
    with session_scope(engine) as session:
        hook_secret = create_application(session, old_box, "acme").webhook_secret

    # Without rotation, dropping the old key would break every profile: the control case.
    status, _, error = run_cli(google_environment(url, [new_key], emulator), "sync", "--json")
    assert (status, "cannot be decrypted" in error) == (2, True)

    status, output, error = run_cli(
        google_environment(url, [new_key, old_key], emulator), "keys", "rotate", "--json"
    )
    assert status == 0, error
    report = json.loads(output)
    assert report["rewritten"]["profile.credentials_encrypted"] == len(profiles)
    assert report["rewritten"]["application.webhook_secret_encrypted"] == 2
    assert set(report["not_on_newest_key"].values()) == {0}

    status, output, error = run_cli(google_environment(url, [new_key], emulator), "sync", "--json")
    assert status == 0, error
    outcomes = {row["profile_id"]: row["outcome"] for row in json.loads(output)}
    assert outcomes == dict.fromkeys(profiles, "ok")
    with session_scope(engine) as session:
        acme = session.exec(select(Application).where(Application.name == "acme")).one()[0]
        assert webhook_secret(SecretBox([new_key]), acme) == hook_secret


def test_keys_rotate_with_a_new_key_reports_what_the_configured_keys_cannot_read(
    database: tuple[str, Engine], run_cli: Callable[..., CliResult]
) -> None:
    url, engine = database
    configured, foreign, fresh = generate_key(), generate_key(), generate_key()
    with session_scope(engine) as session:
        create_application(session, SecretBox([configured]), "ours")
        create_application(session, SecretBox([foreign]), "unknown-key")
    status, output, error = run_cli(
        {"SYNCD_DATABASE_URL": url, "SYNCD_SECRET_KEYS": configured},
        "keys", "rotate", "--new-key", fresh, "--json",
    )  # fmt: skip
    assert status == 1
    report = json.loads(output)
    assert report["rewritten"]["application.webhook_secret_encrypted"] == 1
    assert report["unreadable"]["application.webhook_secret_encrypted"] == 1
    assert "make every daemon's secret_keys start with the new key" in " ".join(error.split())


def test_a_credential_refreshed_during_rotation_is_not_overwritten(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon stores rotated OAuth tokens while `keys rotate` runs: the rotation must
    re-read the row instead of writing back the value it read before."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises the writers; the race needs a concurrent database")
    old_key, new_key = generate_key(), generate_key()
    box = SecretBox([new_key, old_key])
    [profile_id] = insert_profiles(
        engine, SecretBox([old_key]), [{"refresh_token": "before", "email": "ada@example.com"}]
    )
    refreshed = SecretBox([new_key]).encrypt({"refresh_token": "after"})
    original_rotate = SecretBox.rotate
    raced = []

    with session_scope(engine) as session:
        before = session.get(Profile, profile_id).credentials_encrypted  # type: ignore[union-attr]

    def rotate_while_a_daemon_writes(self: SecretBox, token: str) -> str:
        if token == before and not raced:
            raced.append(True)
            with session_scope(engine) as session:  # the daemon's own transaction
                profile = session.get(Profile, profile_id)
                assert profile is not None
                profile.credentials_encrypted = refreshed
        return original_rotate(self, token)

    monkeypatch.setattr(SecretBox, "rotate", rotate_while_a_daemon_writes)
    reencrypt_secrets(engine, box)
    with session_scope(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None
        assert box.decrypt(stored.credentials_encrypted) == {"refresh_token": "after"}
    assert raced, "the daemon's write happened in the middle of the rotation"


def test_api_key_rotation_keeps_the_old_key_working_until_it_is_revoked(
    database: tuple[str, Engine], run_cli: Callable[..., CliResult]
) -> None:
    url, engine = database
    environment = {"SYNCD_DATABASE_URL": url, "SYNCD_SECRET_KEYS": generate_key()}
    status, output, _ = run_cli(environment, "apps", "create", "acme", "--json")
    assert status == 0
    old_key = json.loads(output)["client_secret"]

    status, output, _ = run_cli(environment, "apps", "rotate-key", "acme")
    assert status == 0
    new_key = next(line.split()[-1] for line in output.splitlines() if "api key" in line)
    assert "Older keys still valid: 1" in output

    settings = load_settings(database_url=url, secret_keys=[environment["SYNCD_SECRET_KEYS"]])
    client = TestClient(create_app(settings, engine))

    def accepted(key: str) -> bool:
        response = client.post(
            "/v1/availability", headers={"Authorization": f"Bearer {key}"}, json={}
        )
        return response.status_code != 401

    assert accepted(old_key) and accepted(new_key)
    status, output, _ = run_cli(environment, "apps", "keys", "acme", "--json")
    assert [row["key_id"] for row in json.loads(output) if row["revoked_at"] is None] == [1, 2]

    assert run_cli(environment, "apps", "revoke-key", "acme", "1")[0] == 0
    assert not accepted(old_key)
    assert accepted(new_key)

    status, _, error = run_cli(environment, "apps", "revoke-key", "acme", "1")
    assert (status, "already revoked" in error) == (2, True)
    status, _, error = run_cli(environment, "apps", "revoke-key", "acme", "99")
    assert (status, "has no API key 99" in error) == (2, True)
