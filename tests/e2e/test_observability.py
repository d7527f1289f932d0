"""What an operator watches: probes, Prometheus metrics, logs, systemd notifications, status.

Metrics counters are process-wide, so tests compare values before and after an action.
"""

from __future__ import annotations

import configparser
import datetime as dt
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update

from providers.base import RemoteEvent, TransientError
from syncd import cli, metrics
from syncd.api.app import create_app
from syncd.config import Settings, load_settings
from syncd.logs import ContextFilter, JsonFormatter, log_context, redact
from syncd.notify.outbox import enqueue
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.models import Profile, utcnow
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.leases import claim_due_profiles
from syncd.sync.run import SyncContext, sync_profile
from syncd.systemd import Notifier
from tests.support.fake_provider import FakeAccount, FakeProvider
from tests.support.fleet import wait_for
from tests.support.paths import REPO_ROOT


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def new_profile(engine: Engine, box: SecretBox, provider: str = "fake", **fields: object) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, f"app-{os.urandom(3).hex()}").application
        account = create_account(session, application.id, "ada@example.com")
        profile = create_profile(session, box, account, provider, "Ada", {"token": "x"})
        for key, item in fields.items():
            setattr(profile, key, item)
        session.add(profile)
        return profile.id


@pytest.fixture
def fake_context(engine: Engine, settings: Settings, box: SecretBox) -> Iterator[SyncContext]:
    account = FakeAccount()
    account.add_calendar("work")
    account.put("work", sample_event("e1"))
    context = SyncContext(engine, settings, box, worker_id="test")
    context.provider_factory = lambda _s, _n, credentials: FakeProvider(account, credentials)
    context.fake_account = account  # type: ignore[attr-defined]
    yield context


def sample_event(event_id: str) -> RemoteEvent:
    start = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
    return RemoteEvent(
        provider_event_id=event_id, start=start, end=start + dt.timedelta(hours=1), summary="x"
    )


# --------------------------------------------------------------------------- probes


def test_healthz_answers_without_the_database_and_readyz_checks_it(tmp_path: Path) -> None:
    settings = load_settings(secret_keys=[generate_key()])
    unreachable = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, unreachable)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_readyz_is_unavailable_until_migrations_are_current(tmp_path: Path) -> None:
    settings = load_settings(secret_keys=[generate_key()])
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with TestClient(create_app(settings, engine)) as client:
        behind = client.get("/readyz")
        upgrade_schema(engine)
        current = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["checks"] == {
        "database": "ok",
        "migrations": "behind: run `syncd migrate` or start a daemon to upgrade",
    }
    assert current.status_code == 200
    assert current.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


# --------------------------------------------------------------------------- metrics


def test_metrics_count_syncs_durations_provider_requests_and_errors_by_kind(
    engine: Engine, settings: Settings, box: SecretBox, fake_context: SyncContext
) -> None:
    client = TestClient(create_app(settings, engine))
    before = scrape(client)
    healthy = new_profile(engine, box)
    assert sync_profile(fake_context, healthy).outcome == "ok"
    fake_context.fake_account.transient_failures = 1  # type: ignore[attr-defined]
    failing = new_profile(engine, box)
    assert sync_profile(fake_context, failing).outcome == "transient_error"
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("syncd_syncs_total", provider="fake", outcome="ok") == 1
    assert delta("syncd_syncs_total", provider="fake", outcome="transient_error") == 1
    assert delta("syncd_sync_duration_seconds_count", provider="fake") == 2
    assert delta("syncd_provider_requests_total", provider="fake", operation="list_calendars") == 2
    assert delta("syncd_provider_requests_total", provider="fake", operation="sync_page") >= 1
    assert delta("syncd_provider_errors_total", provider="fake", kind="TransientError") == 1


def test_metrics_report_profiles_by_effective_status_and_due_work(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    long_ago = utcnow() - dt.timedelta(seconds=settings.staleness_bound * 2)
    new_profile(engine, box, sync_status="active", last_success_at=utcnow(), next_due_at=None)
    new_profile(engine, box, sync_status="active", last_success_at=long_ago, next_due_at=None)
    new_profile(engine, box)  # pending, due now
    new_profile(engine, box, sync_status="disconnected", next_due_at=None)
    samples = scrape(TestClient(create_app(settings, engine)))
    assert value(samples, "syncd_profiles", sync_status="active") == 1
    assert value(samples, "syncd_profiles", sync_status="pending") == 2, "stale counts as pending"
    assert value(samples, "syncd_profiles", sync_status="disconnected") == 1
    assert value(samples, "syncd_profiles_due") == 1
    assert value(samples, "syncd_database_up") == 1


def test_metrics_report_the_outbox_backlog_and_its_oldest_pending_age(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "hooks").application
        old = enqueue(session, application.id, "change", "https://example.com/a", {"n": 1})
        old.created_at = utcnow() - dt.timedelta(minutes=10)
        enqueue(session, application.id, "change", "https://example.com/b", {"n": 2})
        delivered = enqueue(session, application.id, "change", "https://example.com/c", {})
        delivered.delivered_at = utcnow()
    samples = scrape(TestClient(create_app(settings, engine)))
    assert value(samples, "syncd_outbox_backlog", queue="webhooks") == 2
    age = value(samples, "syncd_outbox_oldest_pending_age_seconds", queue="webhooks")
    assert 590 <= age <= 700


def test_a_claim_of_a_profile_whose_lease_expired_in_another_workers_hands_is_a_takeover(
    engine: Engine, box: SecretBox
) -> None:
    dead = new_profile(engine, box)
    free = new_profile(engine, box)
    with session_scope(engine) as session:
        session.execute(
            update(Profile)
            .where(Profile.id == dead)
            .values(lease_owner="host:1:dead", lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    before = metrics.LEASE_TAKEOVERS._value.get()
    assert claim_due_profiles(engine, "host:2:alive", 1, 60) == [dead], "resumed first"
    assert claim_due_profiles(engine, "host:2:alive", 10, 60) == [free]
    assert metrics.LEASE_TAKEOVERS._value.get() - before == 1


# --------------------------------------------------------------------------- logs


def test_logs_of_a_sync_run_carry_profile_and_account_ids_and_never_a_token(
    engine: Engine, box: SecretBox, fake_context: SyncContext
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())

    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        profile_id = new_profile(engine, box)
        account = fake_context.fake_account  # type: ignore[attr-defined]
        account.transient_failures = 1
        secret = "ya29.a0AfH6SMBleakedaccesstoken"
        original = FakeProvider._request

        def leaky_request(self: FakeProvider) -> None:
            if account.transient_failures:
                account.transient_failures = 0
                raise TransientError(f"503 for Authorization: Bearer {secret}")
            original(self)

        FakeProvider._request = leaky_request  # type: ignore[method-assign]
        try:
            sync_profile(fake_context, profile_id)
        finally:
            FakeProvider._request = original  # type: ignore[method-assign]
    finally:
        root.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    warning = next(r for r in records if r["message"].startswith("sync of profile"))
    assert warning["profile_id"] == profile_id
    assert warning["account_id"].startswith("acc_")
    assert secret not in stream.getvalue()
    assert "Bearer ***" in warning["message"]


def test_redaction_masks_tokens_passwords_and_syncd_keys_but_keeps_ids() -> None:
    assert redact('{"refresh_token": "1//0abcdefghijk"}') == '{"refresh_token": "***"}'
    assert redact("password=hunter2222&user=ada") == "password=***&user=ada"
    assert redact("key sk_abcdefghijklmnopqrstuvwxyz") == "key ***"
    assert redact("profile pro_abc123 of acc_def456 failed: 503") == (
        "profile pro_abc123 of acc_def456 failed: 503"
    )
    with log_context(profile_id="pro_1"), log_context(account_id="acc_1") as fields:
        assert fields == {"profile_id": "pro_1", "account_id": "acc_1"}


# --------------------------------------------------------------------------- systemd


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "notify.sock"))
    server.settimeout(30)
    yield server
    server.close()


def receive_until(server: socket.socket, wanted: str) -> list[str]:
    """Datagrams up to and including the first that contains ``wanted``."""
    seen = []
    while True:
        message = server.recv(4096).decode()
        seen.append(message)
        if wanted in message.splitlines():
            return seen


def test_notifier_does_nothing_without_a_service_manager() -> None:
    assert Notifier({}).ready() is False


def test_notifier_reaches_an_abstract_socket() -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"syncd-test-{os.getpid()}"
    server.bind("\0" + name)
    server.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello") is True
        assert server.recv(100) == b"STATUS=hello"
    finally:
        server.close()


@pytest.mark.slow
def test_the_daemon_notifies_ready_watchdog_reload_and_stopping(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text('log_level = "INFO"\npoll_interval = 300.0\n')
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")},
        "SYNCD_DATABASE_URL": f"sqlite:///{tmp_path / 'syncd.db'}",
        "SYNCD_SECRET_KEYS": generate_key(),
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "400000",
        "PYTHONPATH": str(REPO_ROOT),
    }
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as log_file:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd", "--config", str(config), "run", "--no-api"],
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = receive_until(notify_socket, "READY=1")[-1].splitlines()
        assert f"MAINPID={daemon.pid}" in ready
        assert any(line.startswith("STATUS=running: 0 syncs in flight") for line in ready)
        receive_until(notify_socket, "WATCHDOG=1")

        config.write_text('log_level = "DEBUG"\npoll_interval = 42.0\n')
        daemon.send_signal(signal.SIGHUP)
        receive_until(notify_socket, "RELOADING=1")
        receive_until(notify_socket, "READY=1")
        wait_for(
            lambda: "poll_interval 42.0 s, log level DEBUG" in log_path.read_text(),
            10,
            "the reload is logged",
        )
        daemon.send_signal(signal.SIGTERM)
        receive_until(notify_socket, "STOPPING=1")
        assert daemon.wait(30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


# --------------------------------------------------------------------------- syncd status


def test_status_summarises_the_fleet_as_json_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = generate_key()
    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    monkeypatch.setenv("SYNCD_DATABASE_URL", url)
    monkeypatch.setenv("SYNCD_SECRET_KEYS", key)
    engine = make_engine(url)
    upgrade_schema(engine)
    box = SecretBox([key])
    new_profile(engine, box, "google", sync_status="active", last_success_at=utcnow())
    new_profile(
        engine, box, "caldav",
        sync_status="disconnected", last_error="invalid_grant for token 1//0secretrefresh",
        last_attempt_at=utcnow(), failure_count=1,
    )  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["syncd", "status", "--json"])
    capsys.readouterr()
    cli.main()
    output = capsys.readouterr().out
    summary = json.loads(output)
    assert summary["profiles"] == {"total": 2, "active": 1, "pending": 0, "disconnected": 1}
    assert summary["by_provider"] == {"caldav": {"disconnected": 1}, "google": {"active": 1}}
    assert summary["queues"]["webhooks"] == {"pending": 0, "oldest_pending_age_seconds": 0}
    [error] = summary["last_errors"]
    assert error["provider"] == "caldav" and "invalid_grant" in error["error"]
    assert "secretrefresh" not in output


# --------------------------------------------------------------------------- packaging


def test_the_systemd_unit_is_type_notify_with_a_watchdog_and_hardening() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO_ROOT / "config" / "syncd.service")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 2 * 15, "the daemon may pause dispatching ~15 s"
    assert service["Restart"] == "on-failure"
    assert service["User"] == "syncd"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "true"
    assert "kill -HUP" in service["ExecReload"]
    assert service["ExecStart"].endswith(" run")


def test_the_container_runs_as_non_root_on_a_slim_base_and_checks_readyz() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    # Both stages start FROM ${BASE_IMAGE}, whose default is the public slim image
    # (scripts/image-smoke passes a local debootstrap base instead).
    args = dict(
        line.split()[1].split("=", 1)
        for line in dockerfile.splitlines()
        if line.startswith("ARG ") and "=" in line
    )
    bases = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(bases) == 2 and all(base == "${BASE_IMAGE}" for base in bases)
    assert args["BASE_IMAGE"].startswith("python:3.11-slim")
    assert dockerfile.index("ARG BASE_IMAGE=") < dockerfile.index("FROM ")
    [user] = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user.split(":")[0] not in ("root", "0")
    healthcheck = dockerfile.split("\nHEALTHCHECK ", 1)[1].split("\nSTOPSIGNAL")[0]
    assert "CMD [" in healthcheck and "/readyz" in healthcheck
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_compose_runs_syncd_with_postgres_and_a_readyz_health_check() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    for name in ("syncd", "worker"):
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["SYNCD_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["stop_signal"] == "SIGTERM"
    assert services["syncd"]["ports"] == ["8080:8080"]
    assert "ports" not in services["worker"], "workers scale without port clashes"


def test_compose_serves_the_public_api_apart_from_the_daemon() -> None:
    services = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())["services"]
    assert services["syncd"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["run"]  # its own API: health and metrics


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit_without_warnings_and_rates_it_well_hardened(
    tmp_path: Path,
) -> None:
    unit = (REPO_ROOT / "config" / "syncd.service").read_text()
    syncd = Path(sys.executable).with_name("syncd")
    copy = tmp_path / "syncd.service"  # ExecStart must name an existing file to verify
    copy.write_text(unit.replace("/opt/syncd/bin/syncd", str(syncd)))
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    exposure = float(
        security.stdout.split("Overall exposure level for syncd.service:")[1].split()[0]
    )
    assert exposure <= 2.0, security.stdout[-2000:]
