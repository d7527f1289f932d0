"""Reads through the API are never held up by a writer (the sync engine) on SQLite."""

from __future__ import annotations

import socket
import sqlite3

import pytest
import requests
from sqlalchemy import Engine

from syncd.api.server import ApiServer
from tests.support.api import ApiWorld


def test_reads_answer_while_another_connection_holds_the_sqlite_write_lock(
    api_world: ApiWorld, api_server: ApiServer, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite locking behaviour")
    tenant = api_world.application("readers")
    account = api_world.account(tenant, "reader@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    writer = sqlite3.connect(engine.url.database, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # a sync page being committed, held open
    try:
        response = requests.get(f"{api_server.url}/v1/calendars", headers=account.auth(), timeout=5)
    finally:
        writer.rollback()
        writer.close()
    assert response.status_code == 200
    assert len(response.json()["calendars"]) == 1


def test_the_api_socket_disables_nagle(api_server: ApiServer) -> None:
    """Small responses go out at once instead of waiting for a delayed ACK."""
    assert api_server._socket is not None
    assert api_server._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
