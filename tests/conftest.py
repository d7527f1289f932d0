"""Shared pytest configuration; fixtures live in tests/support/, one module per concern."""

import pytest

pytest_plugins = [
    "tests.support.store",
    "tests.support.api",
    "tests.support.google_emulator",
    "tests.support.graph_emulator",
    "tests.support.radicale",
    "tests.support.xandikos",
    "tests.support.browser",
]


@pytest.fixture(autouse=True)
def _private_config_and_data_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test sees its own empty ``$XDG_CONFIG_HOME`` and ``$XDG_DATA_HOME``, so the
    developer's own ``~/.config/syncd/syncd.toml`` never leaks into a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
