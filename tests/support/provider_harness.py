"""One small driver per provider test double, so a scenario can be written once and run on all.

A driver owns one calendar at one provider double (the Google emulator, the Graph
emulator, or a real Radicale behind :mod:`tests.emulators.faulty_proxy`) and changes it
the way a user or the provider would: create, move, cancel one instance of a series,
delete, rename the calendar, lose the sync cursor, misbehave (:meth:`inject`), revoke
the grant. :meth:`ProviderDriver.expected_busy` says which time the provider holds as
busy, read back from the double's own state and expanded here with dateutil, never
from syncd, so the store can be compared with it.

Events are named by a scenario ``uid``; each driver maps it onto its provider's ids
(Google event ids, Graph ``AAMk…`` ids, CalDAV ``<uid>.ics`` hrefs).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import requests
from dateutil.rrule import rrulestr
from lxml import etree
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from providers.base import CalendarProvider
from providers.microsoft import CA_BUNDLE_ENV
from syncd.config import OAuthProviderSettings, Settings
from syncd.radicale_server import RadicaleServer, sample_event_ics
from syncd.registry import build_provider
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import read_spans
from syncd.store.models import Calendar, Event, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext
from tests.emulators import faulty_proxy, google, graph
from tests.emulators.faulty_proxy import FaultyProxy
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import GraphEmulator, parse_date_time_time_zone
from tests.support.xandikos import XandikosServer

#: The zone scenario events are written in (recurrences expand in it).
ZONE = "Europe/Berlin"
CALENDAR_NAME = "Work"
PROVIDERS = ("google", "microsoft", "caldav", "xandikos")

FaultKind = Literal[
    "rate_limited",
    "server_error",
    "unavailable",
    "timeout",
    "connection_reset",
    "expired_cursor",
    "revoked_credentials",
    "malformed_item",
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "rate_limited",
    "server_error",
    "unavailable",
    "timeout",
    "connection_reset",
    "expired_cursor",
    "revoked_credentials",
    "malformed_item",
)
#: Faults that only ever delay a sync: the run fails, sync_status never changes.
TRANSIENT_FAULTS: frozenset[FaultKind] = frozenset(
    {"rate_limited", "server_error", "unavailable", "timeout", "connection_reset"}
)
#: Retry-After of the injected 429s, in seconds.
RETRY_AFTER_SECONDS = 1
#: The adapters' ``http_timeout`` for the timeout fault, and how long a stalled answer takes.
SHORT_HTTP_TIMEOUT = 1.0
STALL_SECONDS = 3.0
#: A transient fault lasts this many requests: more than any one run makes.
OUTAGE_REQUESTS = 50
#: Adapter retries in tests: two attempts, tiny back-off (Retry-After is still honoured).
RETRY_ATTEMPTS = 2

#: A busy span as UTC-aware ``(start, end)``.
Interval = tuple[dt.datetime, dt.datetime]


def utc_interval(start: dt.datetime, end: dt.datetime) -> Interval:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("busy intervals are built from aware datetimes only")
    return (start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def expand(
    start: dt.datetime,
    end: dt.datetime,
    rrule: str | None = None,
    exdates: Iterable[dt.datetime] = (),
) -> list[Interval]:
    """The UTC intervals of one event, or of a bounded series minus its excluded instances.

    Occurrences keep the wall-clock time of ``start`` in its zone (dateutil on an aware
    ``dtstart``), as every provider expands series.
    """
    if not rrule:
        return [utc_interval(start, end)]
    line = rrule if rrule.upper().startswith("RRULE:") else f"RRULE:{rrule}"
    if "COUNT=" not in line.upper() and "UNTIL=" not in line.upper():
        raise ValueError(f"the harness expands bounded rules only, not {rrule!r}")
    excluded = {moment.astimezone(dt.UTC) for moment in exdates}
    length = end - start
    intervals: list[Interval] = []
    for occurrence in rrulestr(line, dtstart=start):
        if occurrence.astimezone(dt.UTC) not in excluded:
            intervals.append(utc_interval(occurrence, occurrence + length))
    return intervals


def _rule_parts(rrule: str) -> dict[str, str]:
    text = rrule[6:] if rrule.upper().startswith("RRULE:") else rrule
    return dict(part.split("=", 1) for part in text.upper().split(";") if "=" in part)


# ---------------------------------------------------------------------------
# The driver contract
# ---------------------------------------------------------------------------


class ProviderDriver(ABC):
    """One calendar at one provider double, changed the way its users and servers do."""

    #: The registry name of the adapter syncd uses for this provider.
    provider: ClassVar[str]

    def __init__(self) -> None:
        self.calendar_name = CALENDAR_NAME
        #: The fault currently injected, if any.
        self.fault: FaultKind | None = None

    # -- what syncd is configured with ------------------------------------

    @property
    @abstractmethod
    def profile_name(self) -> str:
        """The connected account's name (its e-mail address or username)."""

    @abstractmethod
    def credentials(self) -> dict[str, Any]:
        """Credentials as a finished authorization stores them (valid right now)."""

    def configure(self, settings: Settings) -> Settings:
        """``settings`` with this provider's endpoints pointed at the double."""
        return settings

    # -- changing the calendar --------------------------------------------

    @abstractmethod
    def create_event(
        self,
        uid: str,
        start: dt.datetime,
        end: dt.datetime,
        rrule: str | None = None,
        tz: str = ZONE,
    ) -> None:
        """A busy event (``rrule``: a bounded daily or weekly series) written in zone ``tz``."""

    @abstractmethod
    def move_event(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        """Give a single event new times."""

    @abstractmethod
    def cancel_instance(self, uid: str, original_start: dt.datetime) -> None:
        """Cancel the instance of series ``uid`` that starts at ``original_start``."""

    @abstractmethod
    def delete_event(self, uid: str) -> None:
        """Delete an event or a whole series."""

    @abstractmethod
    def rename_calendar(self, name: str) -> None:
        """The owner renames the calendar."""

    @abstractmethod
    def lose_cursor(self) -> None:
        """The provider forgets every sync token it handed out for the calendar."""

    # -- faults -------------------------------------------------------------

    def inject(self, fault: FaultKind) -> None:
        """Start misbehaving; transient faults last until :meth:`clear_faults`."""
        self.fault = fault
        if fault in TRANSIENT_FAULTS:
            self._inject_transient(fault)
        elif fault == "expired_cursor":
            self.lose_cursor()
        elif fault == "revoked_credentials":
            self.revoke()
        elif fault == "malformed_item":
            self._serve_malformed_item()
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def clear_faults(self) -> None:
        """The faults stop: outages end, a malformed item is repaired (a change to sync)."""
        self._clear_transient()
        if self.fault == "malformed_item":
            self._repair_malformed_item()
        self.fault = None

    @abstractmethod
    def _inject_transient(self, fault: FaultKind) -> None: ...

    @abstractmethod
    def _clear_transient(self) -> None: ...

    @abstractmethod
    def _serve_malformed_item(self) -> None:
        """The provider serves one item syncd cannot use (the rest stays healthy)."""

    @abstractmethod
    def _repair_malformed_item(self) -> None:
        """The malformed item is replaced by a usable event at ``MALFORMED_SLOT``."""

    @abstractmethod
    def revoke(self) -> None:
        """The user withdraws syncd's access: the stored credentials stop working."""

    @abstractmethod
    def fresh_credentials(self) -> dict[str, Any]:
        """Credentials of a new authorization (what reauthorizing stores)."""

    # -- what the provider holds ------------------------------------------

    @abstractmethod
    def expected_busy(self) -> list[Interval]:
        """Busy time the provider holds now, sorted, from its own state (not from syncd)."""

    @abstractmethod
    def provider_item_ids(self) -> set[str]:
        """The provider ids syncd should store: one per usable provider item."""

    def tune(self, provider: CalendarProvider) -> None:
        """Shrink the adapter's retries so fault runs stay fast."""
        provider.retry_attempts = RETRY_ATTEMPTS  # type: ignore[attr-defined]
        provider.retry_initial_wait = 0.01  # type: ignore[attr-defined]
        provider.retry_max_wait = 0.05  # type: ignore[attr-defined]


#: Where a malformed item's repaired version sits (days from today, hour, minutes long).
MALFORMED_SLOT = (5, 7, 45)


def malformed_slot(zone: str = ZONE) -> tuple[dt.datetime, dt.datetime]:
    day, hour, minutes = MALFORMED_SLOT
    start = dt.datetime.combine(
        dt.date.today() + dt.timedelta(days=day), dt.time(hour), ZoneInfo(zone)
    )
    return start, start + dt.timedelta(minutes=minutes)


# ---------------------------------------------------------------------------
# Google: the Calendar v3 emulator
# ---------------------------------------------------------------------------


class GoogleDriver(ProviderDriver):
    provider: ClassVar[str] = "google"
    USER = google.DEFAULT_USER
    MALFORMED_ID = "malformeditem01"

    def __init__(self, emulator: GoogleCalendarEmulator) -> None:
        super().__init__()
        self.emulator = emulator
        self.calendar_id = self.USER
        emulator.add_calendar(self.calendar_id, summary=CALENDAR_NAME, primary=True, time_zone=ZONE)
        self._grant = emulator.issue_grant(self.USER)

    @property
    def profile_name(self) -> str:
        return self.USER

    def credentials(self) -> dict[str, Any]:
        return dict(self._grant)

    def configure(self, settings: Settings) -> Settings:
        oauth = OAuthProviderSettings(
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            api_base_url=self.emulator.base_url,
            token_url=self.emulator.token_url,
            authorize_url=self.emulator.authorize_url,
        )
        return settings.model_copy(update={"google": oauth})

    @staticmethod
    def _event_id(uid: str) -> str:
        return "ev" + "".join(c for c in uid.lower() if c.isalnum())

    @staticmethod
    def _time(moment: dt.datetime, tz: str) -> dict[str, str]:
        return {"dateTime": moment.astimezone(ZoneInfo(tz)).isoformat(), "timeZone": tz}

    def create_event(
        self,
        uid: str,
        start: dt.datetime,
        end: dt.datetime,
        rrule: str | None = None,
        tz: str = ZONE,
    ) -> None:
        body: dict[str, Any] = {
            "id": self._event_id(uid),
            "summary": uid,
            "start": self._time(start, tz),
            "end": self._time(end, tz),
        }
        if rrule:
            body["recurrence"] = [rrule if rrule.startswith("RRULE:") else f"RRULE:{rrule}"]
        self.emulator.put_event(self.calendar_id, body)

    def _zone_of(self, uid: str) -> str:
        stored = self.emulator.event(self.calendar_id, self._event_id(uid))
        return str(stored["start"].get("timeZone") or ZONE)

    def move_event(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        tz = self._zone_of(uid)
        self.emulator.update_event(
            self.calendar_id,
            self._event_id(uid),
            start=self._time(start, tz),
            end=self._time(end, tz),
        )

    def cancel_instance(self, uid: str, original_start: dt.datetime) -> None:
        tz = self._zone_of(uid)
        self.emulator.cancel_instance(
            self.calendar_id, self._event_id(uid), self._time(original_start, tz)
        )

    def delete_event(self, uid: str) -> None:
        self.emulator.delete_event(self.calendar_id, self._event_id(uid))

    def rename_calendar(self, name: str) -> None:
        self.emulator.rename_calendar(self.calendar_id, name)

    def lose_cursor(self) -> None:
        self.emulator.expire_sync_tokens(self.calendar_id)

    def _inject_transient(self, fault: FaultKind) -> None:
        faults = {
            "rate_limited": google.Fault.rate_limited(RETRY_AFTER_SECONDS),
            "server_error": google.Fault.http_status(500),
            "unavailable": google.Fault.http_status(503),
            "timeout": google.Fault.delay(STALL_SECONDS),
            "connection_reset": google.Fault.drop_connection(),
        }
        self.emulator.inject(faults[fault], times=OUTAGE_REQUESTS)

    def _clear_transient(self) -> None:
        self.emulator.clear_faults()

    def _serve_malformed_item(self) -> None:
        self.emulator.put_raw_item(
            self.calendar_id,
            {
                "kind": "calendar#event",
                "id": self.MALFORMED_ID,
                "status": "confirmed",
                "summary": "unreadable times",
                "start": {"dateTime": "next tuesday at nine", "timeZone": ZONE},
                "end": {"dateTime": "later", "timeZone": ZONE},
            },
        )

    def _repair_malformed_item(self) -> None:
        start, end = malformed_slot()
        self.emulator.put_event(
            self.calendar_id,
            {
                "id": self.MALFORMED_ID,
                "summary": "repaired",
                "start": self._time(start, ZONE),
                "end": self._time(end, ZONE),
            },
        )

    def revoke(self) -> None:
        self.emulator.revoke_user(self.USER)

    def fresh_credentials(self) -> dict[str, Any]:
        return self.emulator.issue_grant(self.USER)

    def _live_items(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """(usable masters and single events by id, cancelled instances of live series)."""
        items = self.emulator.stored_items(self.calendar_id)
        masters = {
            str(item["id"]): item
            for item in items
            if not item.get("_raw")
            and not item.get("recurringEventId")
            and item.get("status") != "cancelled"
        }
        instances = [item for item in items if item.get("recurringEventId") in masters]
        for instance in instances:
            if instance.get("status") != "cancelled":
                raise NotImplementedError("the harness does not model modified instances")
        return masters, instances

    def expected_busy(self) -> list[Interval]:
        masters, instances = self._live_items()
        exdates: dict[str, list[dt.datetime]] = defaultdict(list)
        for instance in instances:
            exdates[instance["recurringEventId"]].append(
                _google_moment(instance["originalStartTime"])
            )
        busy: list[Interval] = []
        for event_id, item in masters.items():
            if item.get("transparency") == "transparent":
                continue
            rules = [line for line in item.get("recurrence") or [] if line.startswith("RRULE:")]
            busy += expand(
                _google_moment(item["start"]),
                _google_moment(item["end"]),
                rules[0] if rules else None,
                exdates[event_id],
            )
        return sorted(busy)

    def provider_item_ids(self) -> set[str]:
        masters, instances = self._live_items()
        return set(masters) | {str(instance["id"]) for instance in instances}


def _google_moment(value: dict[str, Any]) -> dt.datetime:
    if "dateTime" not in value:
        raise NotImplementedError("the harness does not model all-day events")
    moment = dt.datetime.fromisoformat(str(value["dateTime"]))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or "UTC")))
    return moment


# ---------------------------------------------------------------------------
# Microsoft: the Graph emulator
# ---------------------------------------------------------------------------


class MicrosoftDriver(ProviderDriver):
    provider: ClassVar[str] = "microsoft"
    USER = graph.DEFAULT_USER
    CALENDAR_ID = "AAMkAGcalendar-work"
    MALFORMED_ID = "AAMkAGmalformed-item"

    def __init__(self, emulator: GraphEmulator) -> None:
        super().__init__()
        self.emulator = emulator
        emulator.add_calendar(self.CALENDAR_ID, name=CALENDAR_NAME, default=True)
        self._grant = emulator.issue_grant(self.USER)

    @property
    def profile_name(self) -> str:
        return self.USER

    def credentials(self) -> dict[str, Any]:
        return dict(self._grant)

    def configure(self, settings: Settings) -> Settings:
        oauth = OAuthProviderSettings(
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            api_base_url=self.emulator.api_base_url,
            token_url=self.emulator.token_url,
            authorize_url=self.emulator.authorize_url,
        )
        return settings.model_copy(update={"microsoft": oauth})

    @staticmethod
    def _event_id(uid: str) -> str:
        return "AAMkAG" + "".join(c for c in uid if c.isalnum())

    @staticmethod
    def _time(moment: dt.datetime, tz: str) -> dict[str, str]:
        local = moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        return {"dateTime": local.isoformat(), "timeZone": tz}

    @staticmethod
    def _recurrence(rrule: str, start: dt.datetime, tz: str) -> dict[str, Any]:
        """A Graph patternedRecurrence for ``FREQ=DAILY|WEEKLY;COUNT=n`` (what scenarios use)."""
        parts = _rule_parts(rrule)
        if parts.get("FREQ") not in ("DAILY", "WEEKLY") or "COUNT" not in parts:
            raise NotImplementedError(f"the harness writes daily/weekly COUNT rules only: {rrule}")
        first = start.astimezone(ZoneInfo(tz)).date()
        pattern: dict[str, Any] = {
            "type": parts["FREQ"].lower(),
            "interval": int(parts.get("INTERVAL", "1")),
        }
        if parts["FREQ"] == "WEEKLY":
            pattern["daysOfWeek"] = [first.strftime("%A").lower()]
        return {
            "pattern": pattern,
            "range": {
                "type": "numbered",
                "startDate": first.isoformat(),
                "numberOfOccurrences": int(parts["COUNT"]),
                "recurrenceTimeZone": tz,
            },
        }

    def create_event(
        self,
        uid: str,
        start: dt.datetime,
        end: dt.datetime,
        rrule: str | None = None,
        tz: str = ZONE,
    ) -> None:
        body: dict[str, Any] = {
            "id": self._event_id(uid),
            "subject": uid,
            "start": self._time(start, tz),
            "end": self._time(end, tz),
        }
        if rrule:
            body["recurrence"] = self._recurrence(rrule, start, tz)
        self.emulator.put_event(self.CALENDAR_ID, body)

    def _zone_of(self, uid: str) -> str:
        return str(
            self.emulator.event(self.CALENDAR_ID, self._event_id(uid))["originalStartTimeZone"]
        )

    def move_event(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        tz = self._zone_of(uid)
        self.emulator.update_event(
            self.CALENDAR_ID,
            self._event_id(uid),
            start=self._time(start, tz),
            end=self._time(end, tz),
        )

    def cancel_instance(self, uid: str, original_start: dt.datetime) -> None:
        day = original_start.astimezone(ZoneInfo(self._zone_of(uid))).date()
        self.emulator.cancel_occurrence(self.CALENDAR_ID, self._event_id(uid), day)

    def delete_event(self, uid: str) -> None:
        self.emulator.delete_event(self.CALENDAR_ID, self._event_id(uid))

    def rename_calendar(self, name: str) -> None:
        self.emulator.rename_calendar(self.CALENDAR_ID, name)

    def lose_cursor(self) -> None:
        self.emulator.expire_delta_tokens(self.CALENDAR_ID)

    def _inject_transient(self, fault: FaultKind) -> None:
        faults = {
            "rate_limited": graph.Fault.rate_limited(RETRY_AFTER_SECONDS),
            "server_error": graph.Fault.http_status(500),
            "unavailable": graph.Fault.http_status(503, "ServiceNotAvailable"),
            "timeout": graph.Fault.delay(STALL_SECONDS),
            "connection_reset": graph.Fault.drop_connection(),
        }
        self.emulator.inject(faults[fault], times=OUTAGE_REQUESTS)

    def _clear_transient(self) -> None:
        self.emulator.clear_faults()

    def _serve_malformed_item(self) -> None:
        self.emulator.put_raw_item(
            self.CALENDAR_ID,
            {
                "@odata.etag": 'W/"1"',
                "id": self.MALFORMED_ID,
                "subject": "unreadable times",
                "start": {"dateTime": "next tuesday at nine", "timeZone": "UTC"},
                "end": {"dateTime": "later", "timeZone": "UTC"},
            },
        )

    def _repair_malformed_item(self) -> None:
        start, end = malformed_slot()
        self.emulator.put_event(
            self.CALENDAR_ID,
            {
                "id": self.MALFORMED_ID,
                "subject": "repaired",
                "start": self._time(start, ZONE),
                "end": self._time(end, ZONE),
            },
        )

    def revoke(self) -> None:
        self.emulator.revoke_user(self.USER)

    def fresh_credentials(self) -> dict[str, Any]:
        return self.emulator.issue_grant(self.USER)

    def _usable_items(self) -> list[dict[str, Any]]:
        return [
            item
            for item in self.emulator.served_items(self.CALENDAR_ID)
            if not item.get("_raw") and not item.get("isCancelled")
        ]

    def expected_busy(self) -> list[Interval]:
        return sorted(
            utc_interval(
                parse_date_time_time_zone(item["start"]), parse_date_time_time_zone(item["end"])
            )
            for item in self._usable_items()
            if item.get("showAs") != "free"
        )

    def provider_item_ids(self) -> set[str]:
        return {str(item["id"]) for item in self._usable_items()}


# ---------------------------------------------------------------------------
# CalDAV: a real Radicale (htpasswd) behind the fault-injecting proxy
# ---------------------------------------------------------------------------


class RadicaleAccounts:
    """A Radicale server whose htpasswd file tests rewrite: new users, changed passwords."""

    def __init__(self, folder: Path) -> None:
        self.server = RadicaleServer(folder / "storage", users={"harness": "harness-password"})

    def start(self) -> RadicaleAccounts:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> RadicaleAccounts:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def htpasswd(self) -> Path:
        """Where RadicaleServer wrote the file Radicale re-reads when it changes."""
        return self.server.storage_folder.parent / f"radicale-{self.server.port}.htpasswd"

    def set_password(self, user: str, password: str) -> None:
        """Add ``user`` or change their password; the next request already sees it."""
        users = self.server.users if self.server.users is not None else {}
        users[user] = password
        self.server.users = users
        text = "".join(f"{name}:{secret}\n" for name, secret in users.items())
        staged = self.htpasswd.with_suffix(".new")
        staged.write_text(text)
        staged.replace(self.htpasswd)


@dataclass
class _CalDAVItem:
    start: dt.datetime
    end: dt.datetime
    tz: str
    rrule: str | None = None
    exdates: list[dt.datetime] = field(default_factory=list)
    summary: str = ""


class CalDAVDriver(ProviderDriver):
    provider: ClassVar[str] = "caldav"
    MALFORMED_UID = "malformed-item"

    def __init__(self, accounts: RadicaleAccounts, proxy: FaultyProxy) -> None:
        super().__init__()
        self.accounts = accounts
        self.server = accounts.server
        self.proxy = proxy
        self.user = f"user-{uuid.uuid4().hex[:10]}"
        self.password = f"pw-{uuid.uuid4().hex[:8]}"
        accounts.set_password(self.user, self.password)
        self.calendar_url = self.server.make_calendar(self.user, "work", CALENDAR_NAME)
        self._items: dict[str, _CalDAVItem] = {}

    @property
    def profile_name(self) -> str:
        return self.user

    def credentials(self) -> dict[str, Any]:
        return {"url": self.proxy.url + "/", "username": self.user, "password": self.password}

    def _put(self, uid: str) -> None:
        item = self._items[uid]
        zone = ZoneInfo(item.tz)

        def local(moment: dt.datetime) -> dt.datetime:
            return moment.astimezone(zone).replace(tzinfo=None)

        self.server.put_event(
            self.calendar_url,
            uid,
            sample_event_ics(
                uid,
                item.summary or uid,
                local(item.start),
                local(item.end),
                tzid=item.tz,
                rrule=item.rrule[6:]
                if item.rrule and item.rrule.startswith("RRULE:")
                else item.rrule,
                exdates=[local(moment) for moment in item.exdates],
            ),
        )

    def create_event(
        self,
        uid: str,
        start: dt.datetime,
        end: dt.datetime,
        rrule: str | None = None,
        tz: str = ZONE,
    ) -> None:
        self._items[uid] = _CalDAVItem(start, end, tz, rrule)
        self._put(uid)

    def move_event(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        self._items[uid].start, self._items[uid].end = start, end
        self._put(uid)

    def cancel_instance(self, uid: str, original_start: dt.datetime) -> None:
        self._items[uid].exdates.append(original_start)
        self._put(uid)

    def delete_event(self, uid: str) -> None:
        self.server.delete_event(self.calendar_url, uid)
        self._items.pop(uid, None)

    def rename_calendar(self, name: str) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            f"<D:displayname>{name}</D:displayname>"
            "</D:prop></D:set></D:propertyupdate>"
        )
        response = requests.request(
            "PROPPATCH",
            self.calendar_url,
            data=body.encode(),
            headers={"Content-Type": "application/xml; charset=utf-8"},
            auth=(self.user, self.password),
            timeout=10,
        )
        response.raise_for_status()

    def lose_cursor(self) -> None:
        """Radicale forgets the calendar's sync history: every old token is refused."""
        collection = self.server.storage_folder / "collection-root" / self.user / "work"
        shutil.rmtree(collection / ".Radicale.cache" / "sync-token", ignore_errors=True)

    def _inject_transient(self, fault: FaultKind) -> None:
        faults = {
            "rate_limited": faulty_proxy.Fault.rate_limited(RETRY_AFTER_SECONDS),
            "server_error": faulty_proxy.Fault.http_status(500),
            "unavailable": faulty_proxy.Fault.http_status(503),
            "timeout": faulty_proxy.Fault.delay(STALL_SECONDS),
            "connection_reset": faulty_proxy.Fault.drop_connection(),
        }
        self.proxy.inject(faults[fault], times=OUTAGE_REQUESTS)

    def _clear_transient(self) -> None:
        self.proxy.clear_faults()

    def _serve_malformed_item(self) -> None:
        # Radicale refuses to store broken iCalendar, so the proxy breaks it in transit.
        start, end = malformed_slot()
        self._items[self.MALFORMED_UID] = _CalDAVItem(start, end, ZONE, summary="unreadable")
        self._put(self.MALFORMED_UID)
        self.proxy.corrupt_items(f"/{self.MALFORMED_UID}.ics")

    def _repair_malformed_item(self) -> None:
        self._items[self.MALFORMED_UID].summary = "repaired"
        self._put(self.MALFORMED_UID)

    def revoke(self) -> None:
        """The user changes their password at the server; syncd still has the old one."""
        self.password = f"pw-{uuid.uuid4().hex[:12]}"
        self.accounts.set_password(self.user, self.password)

    def fresh_credentials(self) -> dict[str, Any]:
        return self.credentials()

    def _calendar_objects(self) -> dict[str, icalendar.Calendar]:
        """Every calendar object in the collection by href path, read straight from Radicale."""
        auth = (self.user, self.password)
        listing = requests.request(
            "PROPFIND",
            self.calendar_url,
            data=b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
            b"</D:prop></D:propfind>",
            headers={"Depth": "1", "Content-Type": "application/xml"},
            auth=auth,
            timeout=10,
        )
        listing.raise_for_status()
        root = etree.fromstring(listing.content)
        objects: dict[str, icalendar.Calendar] = {}
        for href in root.iter("{DAV:}href"):
            path = unquote(urlsplit(href.text or "").path)
            if not path.endswith(".ics"):
                continue
            if self.fault == "malformed_item" and path.endswith(f"/{self.MALFORMED_UID}.ics"):
                continue  # served unusable while the fault lasts
            response = requests.get(self.server.url + path, auth=auth, timeout=10)
            response.raise_for_status()
            objects[path] = icalendar.Calendar.from_ical(response.text)
        return objects

    def expected_busy(self) -> list[Interval]:
        busy: list[Interval] = []
        for calendar in self._calendar_objects().values():
            for component in calendar.walk("VEVENT"):
                if component.get("RECURRENCE-ID") is not None:
                    raise NotImplementedError("the harness does not model modified instances")
                if str(component.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                if str(component.get("TRANSP", "")).upper() == "TRANSPARENT":
                    continue
                rule = component.get("RRULE")
                busy += expand(
                    component["DTSTART"].dt,
                    component["DTEND"].dt,
                    rule.to_ical().decode() if rule is not None else None,
                    _exdates(component),
                )
        return sorted(busy)

    def provider_item_ids(self) -> set[str]:
        return set(self._calendar_objects())


# ---------------------------------------------------------------------------
# CalDAV on a second real server: Xandikos behind the fault-injecting proxy
# ---------------------------------------------------------------------------

#: What Xandikos answers a sync-token it does not know (RFC 6578 §3.2, status 412).
XANDIKOS_TOKEN_REFUSAL = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ns0:error xmlns:ns0="DAV:">'
    b"<ns0:valid-sync-token /><ns0:responsedescription>Requested sync token is invalid"
    b"</ns0:responsedescription></ns0:error>"
)
_SYNC_TOKEN = re.compile(rb"sync-token>([^<]+)</")


class TokenForgettingProxy(FaultyProxy):
    """The fault proxy, able to play a server that forgot every sync-token it handed out.

    Xandikos' tokens are git commits it never forgets, so :meth:`forget_tokens` makes the
    next sync-collection REPORT carrying a token get exactly what Xandikos answers an
    unknown one (412 with ``DAV:valid-sync-token``); a fresh sync (no token) goes through.
    """

    refuse_next_token = False

    def forget_tokens(self) -> None:
        self.refuse_next_token = True

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.refuse_next_token and method == "REPORT" and _SYNC_TOKEN.search(body):
            self.refuse_next_token = False
            return 412, [("Content-Type", "text/xml")], XANDIKOS_TOKEN_REFUSAL
        return super().forward(method, path, headers, body)


class XandikosDriver(CalDAVDriver):
    """The CalDAV driver on a fresh Xandikos (one principal, no authentication of its own:
    refused credentials are the proxy answering 401, as an authenticating front would)."""

    def __init__(self, server: XandikosServer, proxy: TokenForgettingProxy) -> None:
        ProviderDriver.__init__(self)
        self.server = server  # type: ignore[assignment]
        self.proxy = proxy
        self.token_proxy = proxy
        self.user = f"user-{uuid.uuid4().hex[:10]}"
        self.password = "xandikos-has-no-passwords"
        self.calendar_url = server.make_calendar(self.user, "work", CALENDAR_NAME)
        self._items = {}

    def lose_cursor(self) -> None:
        self.token_proxy.forget_tokens()

    def revoke(self) -> None:
        self.proxy.inject(faulty_proxy.Fault.http_status(401), times=10_000)

    def fresh_credentials(self) -> dict[str, Any]:
        self.proxy.clear_faults()
        return self.credentials()


def _exdates(component: icalendar.Event) -> list[dt.datetime]:
    values = component.get("EXDATE")
    if values is None:
        return []
    lists = values if isinstance(values, list) else [values]
    return [entry.dt for value in lists for entry in value.dts]


# ---------------------------------------------------------------------------
# Building drivers, profiles and sync contexts
# ---------------------------------------------------------------------------


@contextmanager
def running_driver(
    provider: str, radicale: RadicaleAccounts | None = None
) -> Iterator[ProviderDriver]:
    """A driver on a fresh double of ``provider`` (CalDAV: a new user on ``radicale``)."""
    if provider == "google":
        with GoogleCalendarEmulator() as google_emulator:
            yield GoogleDriver(google_emulator)
    elif provider == "microsoft":
        with GraphEmulator() as graph_emulator:
            previous = os.environ.get(CA_BUNDLE_ENV)
            os.environ[CA_BUNDLE_ENV] = graph_emulator.ca_bundle
            try:
                yield MicrosoftDriver(graph_emulator)
            finally:
                if previous is None:
                    os.environ.pop(CA_BUNDLE_ENV, None)
                else:
                    os.environ[CA_BUNDLE_ENV] = previous
    elif provider == "caldav":
        if radicale is None:
            raise ValueError("the CalDAV driver needs a running RadicaleAccounts")
        with FaultyProxy(radicale.server.url) as proxy:
            yield CalDAVDriver(radicale, proxy)
    elif provider == "xandikos":
        with XandikosServer() as xandikos, TokenForgettingProxy(xandikos.url) as token_proxy:
            yield XandikosDriver(xandikos, token_proxy)
    else:
        raise ValueError(f"no driver for provider {provider!r}")


def sync_context(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    driver: ProviderDriver,
    *,
    http_timeout: float = 10.0,
) -> SyncContext:
    """A SyncContext whose adapters talk to the driver's double with fast retries.

    The calendar list is refreshed on every run, so a rename shows at the next sync.
    """
    configured = driver.configure(settings).model_copy(
        update={"http_timeout": http_timeout, "calendar_list_interval": 0.001}
    )

    def factory(s: Settings, name: str, credentials: dict[str, Any]) -> CalendarProvider:
        provider = build_provider(s, name, credentials)
        driver.tune(provider)
        return provider

    return SyncContext(engine, configured, box, worker_id="harness", provider_factory=factory)


def connect_profile(engine: Engine, box: SecretBox, driver: ProviderDriver) -> str:
    """A new application, account and profile holding the driver's credentials."""
    with session_scope(engine) as session:
        application = create_application(session, box, f"contract-{driver.provider}").application
        name = driver.profile_name
        email = name if "@" in name else f"{name}@example.com"  # a CalDAV username
        account = create_account(session, application.id, email, timezone=ZONE)
        return create_profile(
            session, box, account, driver.provider, driver.profile_name, driver.credentials()
        ).id


# ---------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------

#: The span of time compared: far wider than any scenario.
_WINDOW = (dt.timedelta(days=-30), dt.timedelta(days=60))


def in_window(intervals: Iterable[Interval]) -> list[Interval]:
    now = dt.datetime.now(dt.UTC)
    start, end = now + _WINDOW[0], now + _WINDOW[1]
    return sorted(interval for interval in intervals if interval[0] < end and interval[1] > start)


def _calendar_ids(session: Session, profile_id: str) -> list[str]:
    return list(
        session.execute(
            select(Calendar.id).where(
                Calendar.profile_id == profile_id,
                Calendar.deleted == False,  # noqa: E712
            )
        ).scalars()
    )


def stored_busy(engine: Engine, profile_id: str) -> list[Interval]:
    """The profile's busy spans as syncd serves them (``read_spans(busy_only=True)``), UTC."""
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        spans = read_spans(
            session,
            _calendar_ids(session, profile_id),
            now + _WINDOW[0],
            now + _WINDOW[1],
            busy_only=True,
        )
    return sorted((_as_utc(span.start), _as_utc(span.end)) for span in spans)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def stored_item_counts(engine: Engine, profile_id: str) -> dict[str, int]:
    """Stored rows per provider event id (anything above 1 is a duplicate)."""
    with Session(engine) as session:
        rows = session.execute(
            select(Event.provider_event_id, func.count())
            .where(Event.calendar_id.in_(_calendar_ids(session, profile_id)))  # type: ignore[attr-defined]
            .group_by(Event.provider_event_id)
        ).all()
    return {str(provider_id): int(count) for provider_id, count in rows}


def stored_calendar_names(engine: Engine, profile_id: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(Calendar.name).where(
                    Calendar.profile_id == profile_id,
                    Calendar.deleted == False,  # noqa: E712
                )
            ).scalars()
        )


def stored_generations(engine: Engine, profile_id: str) -> list[int]:
    """Each calendar's full-sync generation: it grows with every full (re)sync."""
    with Session(engine) as session:
        return list(
            session.execute(
                select(Calendar.sync_generation).where(Calendar.profile_id == profile_id)
            ).scalars()
        )


def profile_row(engine: Engine, profile_id: str) -> Profile:
    with Session(engine) as session:
        profile = session.get(Profile, profile_id)
        if profile is None:
            raise LookupError(profile_id)
        session.expunge(profile)
        return profile
