"""The README's demo command and the daemon's lifecycle, run as real processes."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from rich.console import Console

from syncd.demo import run_demo
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
    assert "/my/sign-in?app=app_" in result.stdout


def test_the_demo_prints_a_sign_in_link_its_accounts_can_use(tmp_path: Path) -> None:
    output = io.StringIO()
    stop = threading.Event()
    demo = threading.Thread(
        target=run_demo,
        kwargs={
            "folder": tmp_path / "demo",
            "api_port": 0,
            "console": Console(file=output, width=400),
            "stop": stop,
        },
    )
    demo.start()
    try:
        deadline = time.monotonic() + 90
        while "Web pages" not in output.getvalue() and time.monotonic() < deadline:
            time.sleep(0.2)
        printed = output.getvalue()
        link = re.search(r"Web pages \(Your Profile\): (\S+)", printed)
        password = re.search(r"password '([^']+)'", printed)
        assert link is not None and password is not None, printed
        browser = requests.Session()
        form = browser.get(link.group(1), timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        application = re.search(r'name="app" value="([^"]+)"', form.text)
        assert token is not None and application is not None
        signed_in = browser.post(
            link.group(1).split("?")[0],
            data={
                "csrf_token": token.group(1),
                "app": application.group(1),
                "email": "alice@example.com",
                "password": password.group(1),
            },
            timeout=10,
        )
        assert "<h1>Your Profile</h1>" in signed_in.text
    finally:
        stop.set()
        demo.join(30)


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
