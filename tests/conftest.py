"""Shared pytest configuration; fixtures live in tests/fixtures/, one module per concern."""

pytest_plugins = [
    "tests.fixtures.store",
    "tests.fixtures.api",
    "tests.fixtures.google_emulator",
    "tests.fixtures.graph_emulator",
    "tests.fixtures.radicale",
    "tests.fixtures.xandikos",
]
