"""Settings: TOML file, environment overrides, and errors that name the key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.config import Settings, load_settings
from syncd.errors import ConfigError
from syncd.store.crypto import generate_key
from tests.support.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "config" / "syncd.example.toml"


def test_example_config_loads_and_matches_the_defaults() -> None:
    assert load_settings(EXAMPLE) == Settings()


def test_example_config_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    documented = set(re.findall(r"^#?\s*([a-z_]+) =", text, flags=re.MULTILINE))
    sections = set(re.findall(r"^\[([a-z_]+)\]$", text, flags=re.MULTILINE))
    assert set(Settings.model_fields) - sections <= documented


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text('poll_interval = 60\n[google]\nclient_id = "from-file"\n')
    monkeypatch.setenv("SYNCD_POLL_INTERVAL", "30")
    monkeypatch.setenv("SYNCD_GOOGLE__CLIENT_SECRET", "from-env")
    settings = load_settings(config)
    assert settings.poll_interval == 30
    assert settings.google.client_secret == "from-env"


def test_secret_keys_accept_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = generate_key(), generate_key()
    monkeypatch.setenv("SYNCD_SECRET_KEYS", f"{first}, {second}")
    assert load_settings().secret_keys == [first, second]


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("workers = 0\n", "workers"),
        ("poll_intervall = 3\n", "poll_intervall"),
        ("log_level = 'LOUD'\n", "log_level"),
    ],
)
def test_bad_config_names_the_offending_key(tmp_path: Path, content: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=key):
        load_settings(config)


def test_cli_exits_with_status_2_on_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("workers = -3\n")
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "profiles", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "workers" in result.stderr


def test_deleted_events_must_outlive_the_webhook_retry_window(tmp_path: Path) -> None:
    config = tmp_path / "short.toml"
    config.write_text("deleted_event_retention_days = 0.5\nwebhook_retry_window = 90000\n")
    with pytest.raises(ConfigError, match="deleted_event_retention_days"):
        load_settings(config)
