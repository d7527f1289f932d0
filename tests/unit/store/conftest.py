"""Fixtures shared by the store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from tests.support.things import things_session


@pytest.fixture
def things() -> Iterator[Session]:
    """A session on an in-memory SQLite database with an empty ``thing`` table."""
    yield from things_session()
