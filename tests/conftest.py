"""Shared pytest configuration; fixtures live in tests/support/, one module per concern."""

pytest_plugins = [
    "tests.support.store",
    "tests.support.api",
    "tests.support.google_emulator",
    "tests.support.graph_emulator",
    "tests.support.radicale",
]
