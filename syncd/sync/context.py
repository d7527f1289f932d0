"""What a sync run is given (``SyncContext``) and what it reports (``SyncOutcome``).

Apart from the run itself (``run.py``) so that its closing (``closing.py``) and the
callers that build contexts share these without importing the run's body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from providers.base import CalendarProvider
from syncd.config import Settings
from syncd.ids import new_id
from syncd.registry import build_provider
from syncd.store.crypto import SecretBox
from syncd.store.models import Profile

#: Callback run after a profile becomes disconnected (the notifier hooks in here).
DisconnectedHook = Callable[[Session, Profile], None]

#: Callback with the changed calendar ids and the run's start time: ``on_changed`` runs
#: inside the transaction of each page that changed them, ``on_synced`` inside
#: ``close_run``'s (the notifier queues one ``change`` per channel and run, coalesced, held
#: by the pages and released by the finish).
SyncedHook = Callable[[Session, Profile, set[str], dt.datetime], None]


@dataclass
class SyncOutcome:
    profile_id: str
    #: ok | partial | auth_revoked | transient_error | unsupported | key_error | error |
    #: skipped | stopped
    outcome: str
    pages: int = 0
    changes: int = 0
    skipped_items: int = 0
    calendars: int = 0
    detail: str | None = None
    #: Calendars whose stored events this run changed (committed pages only).
    changed_calendar_ids: set[str] = dataclasses.field(default_factory=set)
    #: Calendars that failed (or still back off) while the others synced: id → reason.
    failed_calendars: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Calendars the provider said are gone (404) during this run.
    deleted_calendars: int = 0


class StopRequested(Exception):
    """The daemon is shutting down: stop between pages."""


@dataclass
class SyncContext:
    """What a sync run needs besides the profile id."""

    engine: Engine
    settings: Settings
    box: SecretBox
    worker_id: str = dataclasses.field(default_factory=lambda: new_id("wrk", 6))
    stop_event: threading.Event = dataclasses.field(default_factory=threading.Event)
    provider_factory: Callable[[Settings, str, dict[str, Any]], CalendarProvider] = build_provider
    on_disconnected: list[DisconnectedHook] = dataclasses.field(default_factory=list)
    on_synced: list[SyncedHook] = dataclasses.field(default_factory=list)
    on_changed: list[SyncedHook] = dataclasses.field(default_factory=list)
    lease_seconds: float = 300.0
    #: Calendar id → the window's end at the last expansion check that found no series
    #: to extend (``run.py: EXPANSION_CHECK_STEP``); this daemon's memory only.
    expansion_checks: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)
