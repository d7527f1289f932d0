"""Google adapters share keep-alive connections: a new adapter (one per sync run) reuses
the warm connection an earlier one left, and no connection is ever used by two requests
at once or reused after a failed one."""

from __future__ import annotations

import threading

import pytest

from providers.google import GoogleProvider
from providers.google.connections import ConnectionPool, shared_connections
from tests.emulators.google import GoogleCalendarEmulator

CALENDAR_ID = "alice@example.com"


@pytest.fixture
def emulator(google_emulator: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    google_emulator.add_calendar(CALENDAR_ID, primary=True, summary="Alice")
    return google_emulator


def _sockets_to(emulator: GoogleCalendarEmulator) -> set[int]:
    """Ids of the pooled sockets open to this emulator."""
    port = emulator.base_url.rstrip("/").rsplit(":", 1)[1].split("/")[0]
    found = set()
    for idle in shared_connections._idle.values():
        for http in idle:
            for key, connection in http.connections.items():
                if key.endswith(f":{port}") and connection.sock is not None:
                    found.add(id(connection.sock))
    return found


def test_a_new_adapter_reuses_the_connection_an_earlier_adapter_left(
    emulator: GoogleCalendarEmulator, google_provider_factory: object
) -> None:
    first: GoogleProvider = google_provider_factory()  # type: ignore[operator]
    assert first.profile_name() == CALENDAR_ID
    (socket_after_first,) = _sockets_to(emulator)

    second: GoogleProvider = google_provider_factory()  # type: ignore[operator]
    assert second.profile_name() == CALENDAR_ID
    assert _sockets_to(emulator) == {socket_after_first}


def test_a_connection_is_not_handed_out_twice_at_once() -> None:
    pool = ConnectionPool()
    with pool.checked_out(30.0) as first, pool.checked_out(30.0) as second:
        assert first is not second


def test_a_returned_connection_is_handed_out_again() -> None:
    pool = ConnectionPool()
    with pool.checked_out(30.0) as first:
        pass
    with pool.checked_out(30.0) as again:
        assert again is first


def test_a_connection_whose_request_failed_is_not_reused() -> None:
    pool = ConnectionPool()
    with pytest.raises(OSError), pool.checked_out(30.0) as failed:
        raise OSError("connection reset")
    with pool.checked_out(30.0) as next_one:
        assert next_one is not failed
    assert failed.connections == {}


def test_connections_are_kept_per_timeout() -> None:
    pool = ConnectionPool()
    with pool.checked_out(30.0) as slow:
        pass
    with pool.checked_out(0.5) as quick:
        assert quick is not slow
        assert quick.timeout == 0.5


def test_at_most_max_idle_connections_are_kept() -> None:
    pool = ConnectionPool(max_idle=2)
    barrier = threading.Barrier(3)

    def hold() -> None:
        with pool.checked_out(30.0):
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert pool.idle_count() == 2
