"""A real Radicale CalDAV server on 127.0.0.1, for tests, ``syncd demo`` and benchmarks.

It runs as a subprocess (``python -m radicale``) so it behaves exactly like a deployed
server: its own process, its own locks, real sockets. Storage is a plain folder, which
lets :func:`seed_calendar_files` write thousands of events straight to disk before the
server starts (seeding over HTTP is slow: Radicale scans the whole collection for a UID
clash on every PUT).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar
import requests

from syncd.errors import ServiceUnavailableError
from syncd.local_process import (
    PortTaken,
    free_port,
    log_tail,
    spawn_logged,
    start_on_a_port,
    stop_process,
    wait_until_answering,
)


def _check_port_is_free(port: int) -> None:
    """Fail in one line when another program holds the port (it would answer for us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise PortTaken(
                f"cannot listen on 127.0.0.1:{port} for the CalDAV server: "
                f"{error.strerror or error} (choose another with --caldav-port)"
            ) from None


class RadicaleServer:
    """A Radicale subprocess serving ``storage_folder`` (a fresh temporary one by default).

    Without ``users`` anyone may log in with any password (``auth-type none``); with a
    ``{username: password}`` dict an htpasswd file with plain passwords is written, so
    wrong credentials get a real 401. Either way every authenticated user may read and
    write everything (``rights-type authenticated``).
    """

    def __init__(
        self,
        storage_folder: str | Path | None = None,
        port: int | None = None,
        users: Mapping[str, str] | None = None,
        extra_arguments: Sequence[str] = (),
    ) -> None:
        self._owned_folder: Path | None = None
        #: More ``radicale`` command-line options (e.g. ``--reporting-max-expand-occurrence``).
        self.extra_arguments = list(extra_arguments)
        if storage_folder is None:
            self._owned_folder = Path(tempfile.mkdtemp(prefix="syncd-radicale-"))
            storage_folder = self._owned_folder
        self.storage_folder = Path(storage_folder)
        #: A port we picked may be taken before Radicale binds it: then we pick another.
        self._port_picked = port is None
        self.users = dict(users) if users is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._listen_on(port or free_port())

    def _listen_on(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = self.storage_folder.parent / f"radicale-{self.port}.log"

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> RadicaleServer:
        """Start the subprocess and wait until it answers HTTP."""
        if self._process is not None:
            return self
        self.storage_folder.mkdir(parents=True, exist_ok=True)
        try:
            start_on_a_port(self._start_on, self.port, picked=self._port_picked)
        except ServiceUnavailableError:
            self.stop()
            raise
        return self

    def _start_on(self, port: int) -> None:
        """Radicale on ``port``, answering; on failure its process is stopped and its
        log dropped, the storage kept (it may be seeded, for the next port)."""
        self._listen_on(port)
        _check_port_is_free(port)
        self._process = spawn_logged(self._command(), self._log_path)
        try:
            wait_until_answering(self._process, self.url, "radicale", self._log_path, port)
        except ServiceUnavailableError:
            process, self._process = self._process, None
            stop_process(process)
            self._log_path.unlink(missing_ok=True)
            raise

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{self.port}",
            "--storage-filesystem-folder",
            str(self.storage_folder),
            "--rights-type",
            "authenticated",
            "--web-type",
            "none",
            "--logging-level",
            "warning",
            *self._auth_arguments(),
            *self.extra_arguments,
        ]

    def _auth_arguments(self) -> list[str]:
        if self.users is None:
            return ["--auth-type", "none"]
        htpasswd = self.storage_folder.parent / f"radicale-{self.port}.htpasswd"
        htpasswd.write_text("".join(f"{user}:{pw}\n" for user, pw in self.users.items()))
        return [
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(htpasswd),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",
        ]

    def log_tail(self, characters: int = 2000) -> str:
        """The end of the server's log, for error messages."""
        return log_tail(self._log_path, characters)

    def stop(self) -> None:
        """Stop the subprocess and remove the storage folder if we created it."""
        process, self._process = self._process, None
        stop_process(process)
        if self._owned_folder is not None:
            shutil.rmtree(self._owned_folder, ignore_errors=True)
            self._owned_folder = None
        self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> RadicaleServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- HTTP helpers (seeding and mutating from tests and demos) ------------------

    def _auth(self, user: str) -> tuple[str, str]:
        password = (self.users or {}).get(user, "unused")
        return (user, password)

    def calendar_url(self, user: str, calendar_name: str) -> str:
        """Where ``make_calendar`` puts a calendar (trailing slash included)."""
        return f"{self.url}/{quote(user)}/{quote(calendar_name)}/"

    def make_calendar(self, user: str, calendar_name: str, display_name: str | None = None) -> str:
        """Create the user's home (MKCOL) if needed, then the calendar (MKCALENDAR)."""
        home = f"{self.url}/{quote(user)}/"
        response = requests.request("MKCOL", home, auth=self._auth(user), timeout=10)
        if response.status_code not in (201, 405, 409):
            response.raise_for_status()
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:set><D:prop>"
            f"<D:displayname>{_xml_text(display_name or calendar_name)}</D:displayname>"
            "<C:supported-calendar-component-set>"
            '<C:comp name="VEVENT"/></C:supported-calendar-component-set>'
            "</D:prop></D:set></C:mkcalendar>"
        )
        url = self.calendar_url(user, calendar_name)
        response = requests.request(
            "MKCALENDAR",
            url,
            data=body.encode(),
            headers={"Content-Type": "application/xml; charset=utf-8"},
            auth=self._auth(user),
            timeout=10,
        )
        response.raise_for_status()
        return url

    def put_event(self, calendar_url: str, uid: str, ics_text: str) -> str:
        """PUT ``ics_text`` as ``<uid>.ics`` in the calendar; returns the new ETag."""
        response = requests.put(
            _item_url(calendar_url, uid),
            data=ics_text.encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            auth=self._auth(_user_of(calendar_url, self.url)),
            timeout=30,
        )
        response.raise_for_status()
        return response.headers.get("ETag", "")

    def delete_event(self, calendar_url: str, uid: str) -> None:
        """DELETE ``<uid>.ics`` from the calendar (a missing item is fine)."""
        response = requests.delete(
            _item_url(calendar_url, uid),
            auth=self._auth(_user_of(calendar_url, self.url)),
            timeout=30,
        )
        if response.status_code != 404:
            response.raise_for_status()


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _item_url(calendar_url: str, uid: str) -> str:
    return calendar_url.rstrip("/") + "/" + quote(uid, safe="") + ".ics"


def _user_of(calendar_url: str, server_url: str) -> str:
    """The first path segment after the server root, which Radicale uses as the owner."""
    return calendar_url[len(server_url) :].strip("/").split("/")[0]


def seed_calendar_files(
    storage_folder: str | Path,
    user: str,
    calendar: str,
    ics_items: Iterable[tuple[str, str]],
    display_name: str | None = None,
) -> Path:
    """Write ``(uid, ics_text)`` items straight into Radicale's storage; returns the folder.

    Call it before the server starts (or for a calendar the server has not cached yet):
    this is how benchmarks get thousands of events in seconds instead of minutes.
    """
    folder = Path(storage_folder) / "collection-root" / user / calendar
    folder.mkdir(parents=True, exist_ok=True)
    props = {"tag": "VCALENDAR", "D:displayname": display_name or calendar}
    props["C:supported-calendar-component-set"] = "VEVENT"
    (folder / ".Radicale.props").write_text(json.dumps(props))
    for uid, ics_text in ics_items:
        (folder / f"{uid}.ics").write_text(ics_text, encoding="utf-8", newline="")
    return folder


def sample_event_ics(
    uid: str,
    summary: str,
    start: dt.datetime | dt.date,
    end: dt.datetime | dt.date,
    tzid: str | None = None,
    rrule: str | None = None,
    exdates: Iterable[dt.datetime | dt.date] = (),
    description: str | None = None,
    location: str | None = None,
    status: str | None = None,
    transparent: bool = False,
    attendees: Mapping[str, str] | None = None,
    overrides: Iterable[tuple[dt.datetime | dt.date, dt.datetime, dt.datetime, str]] = (),
) -> str:
    """A VCALENDAR with one event (and optional overridden instances) for demos and tests.

    ``tzid`` interprets naive ``start``/``end`` in that IANA zone. ``rrule`` is the value
    of an RRULE line (``"FREQ=WEEKLY;COUNT=5"``). ``attendees`` maps e-mail addresses to
    PARTSTAT values. Each override is ``(recurrence_id, start, end, summary)``.
    """

    zone = ZoneInfo(tzid) if tzid else None

    def localised(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
        if isinstance(value, dt.datetime) and value.tzinfo is None and zone is not None:
            return value.replace(tzinfo=zone)
        return value

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//syncd//sample events//EN")
    calendar.add("version", "2.0")
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    master = icalendar.Event()
    master.add("uid", uid)
    master.add("dtstamp", stamp)
    master.add("dtstart", localised(start))
    master.add("dtend", localised(end))
    master.add("summary", summary)
    if description:
        master.add("description", description)
    if location:
        master.add("location", location)
    if status:
        master.add("status", status)
    if transparent:
        master.add("transp", "TRANSPARENT")
    if rrule:
        master.add("rrule", icalendar.vRecur.from_ical(rrule))
    for exdate in exdates:
        master.add("exdate", localised(exdate))
    for address, partstat in (attendees or {}).items():
        master.add("attendee", f"mailto:{address}", parameters={"PARTSTAT": partstat})
    calendar.add_component(master)

    for recurrence_id, override_start, override_end, override_summary in overrides:
        instance = icalendar.Event()
        instance.add("uid", uid)
        instance.add("dtstamp", stamp)
        instance.add("recurrence-id", localised(recurrence_id))
        instance.add("dtstart", localised(override_start))
        instance.add("dtend", localised(override_end))
        instance.add("summary", override_summary)
        calendar.add_component(instance)

    if tzid is not None:
        calendar.subcomponents.insert(0, _vtimezone(tzid))
    ical: bytes = calendar.to_ical()
    return ical.decode()


@functools.lru_cache(maxsize=32)
def _vtimezone(tzid: str) -> icalendar.Timezone:
    """The VTIMEZONE for an IANA zone, cached because building one costs milliseconds.

    It covers 2000-2040 only: the default 1970-2038 span lists every transition as an
    RDATE and makes each seeded item several kilobytes, which slows every server and
    client parse for nothing (sample events are recent).
    """
    return icalendar.Timezone.from_tzid(
        tzid, first_date=dt.date(2000, 1, 1), last_date=dt.date(2040, 1, 1)
    )


def sample_series(count: int, first_day: dt.date | None = None) -> Iterable[tuple[str, str]]:
    """``count`` distinct one-hour events, one every few hours, for seeding benchmarks."""
    first_day = first_day or dt.date(2025, 1, 6)
    origin = dt.datetime.combine(first_day, dt.time(8, 0))
    for index in range(count):
        uid = f"seed-{index:06d}-{uuid.UUID(int=index).hex[:8]}"
        start = origin + dt.timedelta(hours=3 * index)
        yield (
            uid,
            sample_event_ics(
                uid,
                f"Seeded event {index}",
                start,
                start + dt.timedelta(hours=1),
                tzid="Europe/Berlin",
                rrule="FREQ=WEEKLY;COUNT=10" if index % 10 == 0 else None,
                location="Room 1" if index % 3 == 0 else None,
            ),
        )


@contextmanager
def seeded_radicale(
    event_count: int,
    user: str = "bench",
    calendar: str = "big",
    storage_folder: str | Path | None = None,
) -> Iterator[tuple[RadicaleServer, str]]:
    """A running server whose ``user``/``calendar`` holds ``event_count`` sample events.

    Yields ``(server, calendar_url)``. The server's item cache is warmed before yielding
    (Radicale parses every file once on first read), so measurements that follow see a
    steady-state server rather than that one-off cost.
    """
    owned = storage_folder is None
    folder = (
        Path(tempfile.mkdtemp(prefix="syncd-seeded-"))
        if storage_folder is None
        else Path(storage_folder)
    )
    try:
        seed_calendar_files(folder / "storage", user, calendar, sample_series(event_count))
        with RadicaleServer(folder / "storage") as server:
            calendar_url = server.calendar_url(user, calendar)
            warm_up = requests.request(
                "PROPFIND", calendar_url, headers={"Depth": "1"}, auth=(user, "x"), timeout=600
            )
            warm_up.raise_for_status()
            yield server, calendar_url
    finally:
        if owned:
            shutil.rmtree(folder, ignore_errors=True)
