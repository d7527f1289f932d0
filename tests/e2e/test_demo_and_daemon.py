"""The README's demo command and the daemon's lifecycle, run as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd.errors import ServiceUnavailableError
from syncd.store.crypto import generate_key
from syncd.sync.daemon import SQLiteOwnerLock

pytestmark = pytest.mark.slow


def syncd(*args: str) -> list[str]:
    return [sys.executable, "-m", "syncd", *args]


def test_demo_syncs_the_local_caldav_server_and_reports_active_profiles(tmp_path: Path) -> None:
    result = subprocess.run(
        syncd("demo", "--port", "0", "--duration", "1", "--folder", str(tmp_path / "demo")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("active") == 2
    assert "pending" not in result.stdout
    assert "/v1/availability" in result.stdout


def test_daemon_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "SYNCD_DATABASE_URL": f"sqlite:///{tmp_path / 'syncd.db'}",
        "SYNCD_SECRET_KEYS": generate_key(),
    }
    daemon = subprocess.Popen(
        syncd("run", "--port", "0"), env=environment, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    assert daemon.stderr is not None
    for line in daemon.stderr:
        if "listening on" in line or time.monotonic() > deadline:
            break
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(30) == 0


def test_a_second_daemon_on_the_same_sqlite_database_refuses_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    first = SQLiteOwnerLock(url)
    first.acquire()
    try:
        with pytest.raises(ServiceUnavailableError, match="already running"):
            SQLiteOwnerLock(url).acquire()
    finally:
        first.release()
    SQLiteOwnerLock(url).acquire()  # free again once the first one is gone
