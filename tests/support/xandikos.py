"""pytest fixtures: a real Xandikos CalDAV server on 127.0.0.1, beside Radicale.

Xandikos (a git-backed server) answers differently from Radicale where RFC 6578 and
RFC 4791 leave room: an unknown sync-token is a ``412`` with ``DAV:valid-sync-token``
(Radicale: ``403``), calendars live under one principal (``/user/calendars/``), and it
keeps what it is given nearly verbatim. Each test gets its own server (a fresh
directory, ~0.5 s to start) because Xandikos serves a single principal: discovery would
otherwise see every other test's calendars.

:class:`CalDAVServer` is what tests written for both servers use; ``caldav_server`` is
parametrized over Radicale and Xandikos.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import pytest
import requests

from syncd.errors import ServiceUnavailableError
from syncd.local_process import (
    free_port,
    log_tail,
    spawn_logged,
    start_on_a_port,
    stop_process,
    wait_until_answering,
)
from syncd.radicale_server import RadicaleServer

#: Where Xandikos puts the single principal's calendars.
PRINCIPAL = "/user/"


_XML = {"Content-Type": "application/xml; charset=utf-8"}


class XandikosServer:
    """A Xandikos subprocess serving a fresh folder (no authentication: any user works)."""

    name = "xandikos"
    #: No passwords: RadicaleServer's ``users`` for code written against both.
    users: dict[str, str] | None = None

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self._owned = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="syncd-xandikos-"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.folder / "xandikos.log"
        #: A port we picked may be taken before Xandikos binds it: then we pick another.
        self._port_picked = port is None

    def start(self) -> XandikosServer:
        try:
            start_on_a_port(self._start_on, self.port, picked=self._port_picked)
        except ServiceUnavailableError:
            self.stop()
            raise
        return self

    def _start_on(self, port: int) -> None:
        """Xandikos on ``port``, answering; on failure its process is stopped (the
        folder stays, for the next port)."""
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "xandikos",
            "serve",
            "-d",
            str(self.folder / "data"),
            "--state-dir",
            str(self.folder / "state"),
            "--autocreate",
            "--current-user-principal",
            PRINCIPAL,
            "--no-detect-systemd",
            "-l",
            "127.0.0.1",
            "-p",
            str(port),
        ]
        self._process = spawn_logged(command, self._log)
        try:
            wait_until_answering(self._process, self.url, "xandikos", self._log, port)
        except ServiceUnavailableError:
            process, self._process = self._process, None
            stop_process(process)
            raise

    def log_tail(self, characters: int = 2000) -> str:
        return log_tail(self._log, characters)

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)
        if self._owned:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> XandikosServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the helpers RadicaleServer offers ------------------------------------------

    def calendar_url(self, user: str, calendar_name: str) -> str:
        """Every user shares the one principal: the user only prefixes the calendar's name."""
        return f"{self.url}{PRINCIPAL}calendars/{quote(calendar_name)}/"

    def make_calendar(self, user: str, calendar_name: str, display_name: str | None = None) -> str:
        url = self.calendar_url(user, calendar_name)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:set><D:prop>"
            f"<D:displayname>{display_name or calendar_name}</D:displayname>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        response = requests.request("MKCALENDAR", url, data=body.encode(), headers=_XML, timeout=10)
        response.raise_for_status()
        return url

    def put_event(self, calendar_url: str, uid: str, ics_text: str) -> str:
        response = requests.put(
            calendar_url.rstrip("/") + "/" + quote(uid, safe="") + ".ics",
            data=ics_text.encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            timeout=30,
        )
        response.raise_for_status()
        return response.headers.get("ETag", "")

    def delete_event(self, calendar_url: str, uid: str) -> None:
        response = requests.delete(
            calendar_url.rstrip("/") + "/" + quote(uid, safe="") + ".ics", timeout=30
        )
        if response.status_code != 404:
            response.raise_for_status()

    def delete_calendar(self, calendar_url: str) -> None:
        requests.delete(calendar_url, timeout=30).raise_for_status()


class CalDAVServer(Protocol):
    """What tests run against both Radicale and Xandikos rely on."""

    url: str

    def make_calendar(
        self, user: str, calendar_name: str, display_name: str | None = None
    ) -> str: ...

    def put_event(self, calendar_url: str, uid: str, ics_text: str) -> str: ...

    def delete_event(self, calendar_url: str, uid: str) -> None: ...


class CalDAVUser:
    """A fresh user on one of the servers: credentials at the server root, new calendars."""

    def __init__(self, kind: str, server: CalDAVServer) -> None:
        self.kind = kind
        self.server = server
        self.user = f"user-{uuid.uuid4().hex[:10]}"

    @property
    def credentials(self) -> dict[str, str]:
        return {"url": self.server.url + "/", "username": self.user, "password": "any-password"}

    def make_calendar(self, name: str, display_name: str | None = None) -> str:
        return self.server.make_calendar(self.user, name, display_name or name)

    def put(self, calendar_url: str, uid: str, ics_text: str) -> str:
        return self.server.put_event(calendar_url, uid, ics_text)

    def delete(self, calendar_url: str, uid: str) -> None:
        self.server.delete_event(calendar_url, uid)

    def delete_calendar(self, calendar_url: str) -> None:
        """Remove a whole calendar collection at the server."""
        auth = (self.user, "any-password")
        response = requests.delete(calendar_url, auth=auth, timeout=30)
        response.raise_for_status()


@pytest.fixture
def xandikos_server() -> Iterator[XandikosServer]:
    """A fresh Xandikos server (one principal, no authentication)."""
    with XandikosServer() as server:
        yield server


CALDAV_SERVERS = ("radicale", "xandikos")


@pytest.fixture(params=CALDAV_SERVERS)
def caldav_user(request: pytest.FixtureRequest) -> CalDAVUser:
    """A fresh user on Radicale (shared server, own user) or Xandikos (own server)."""
    if request.param == "radicale":
        server: RadicaleServer = request.getfixturevalue("radicale_server")
        return CalDAVUser("radicale", server)
    return CalDAVUser("xandikos", request.getfixturevalue("xandikos_server"))
