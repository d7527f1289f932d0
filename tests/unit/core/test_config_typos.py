"""Typos in the configuration are named, with the closest valid key, wherever they are."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from syncd.config import load_settings
from syncd.errors import ConfigError


def test_an_unknown_key_inside_a_section_is_refused_with_the_closest_key(tmp_path: Path) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text('[google]\nclient_idd = "x"\n')
    with pytest.raises(
        ConfigError, match=r"google\.client_idd: unknown key \(did you mean google\.client_id\?\)"
    ):
        load_settings(config)


def test_an_unknown_top_level_key_names_the_closest_key(tmp_path: Path) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text("poll_intervall = 3\n")
    with pytest.raises(ConfigError, match=r"did you mean poll_interval\?"):
        load_settings(config)


def test_an_unknown_section_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_GOOGLE__CLIENT_IDD", "x")
    with pytest.raises(ConfigError, match=r"google\.client_idd: unknown key"):
        load_settings()


def test_an_unknown_variable_is_named_with_the_closest_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SYNCD_POLL_INTERVALL", "30")
    with caplog.at_level(logging.WARNING, logger="syncd.config"):
        settings = load_settings()
    assert settings.poll_interval == 300  # the typo did not apply…
    assert caplog.messages == [  # …and says so
        "ignoring unknown environment variable SYNCD_POLL_INTERVALL "
        "(did you mean SYNCD_POLL_INTERVAL?)"
    ]


def test_variables_that_are_not_settings_are_not_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SYNCD_TEST_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SYNCD_CONFIG", "")
    monkeypatch.setenv("SYNCD_MICROSOFT_CA_BUNDLE", "/etc/ssl/graph.pem")
    with caplog.at_level(logging.WARNING, logger="syncd.config"):
        load_settings()
    assert caplog.messages == []
