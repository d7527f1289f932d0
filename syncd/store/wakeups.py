"""Wake-ups on commit: a queue's worker hears of new rows at once instead of polling.

``signal_on_commit(session, wakeup)`` arranges for ``wakeup`` to be set once the
session's transaction commits (never for a rollback), so a worker woken by it always
finds the row. On Postgres the same transaction also sends ``NOTIFY`` on the wakeup's
channel, which the server delivers only at commit; ``listen`` (a daemon thread per
process) sets the wakeup when another process's notification arrives, so a second daemon
or the API process wakes this one too. The poll stays as the fallback: a lost
notification (a listener reconnecting) only costs one poll interval.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Engine, event, text
from sqlmodel import Session

__all__ = ["MANAGED", "OUTBOX", "Wakeup", "listen", "signal_on_commit"]

log = logging.getLogger(__name__)

#: Seconds between checks of ``stop`` while listening, and before reconnecting.
LISTEN_POLL_SECONDS = 1.0


class Wakeup:
    """Set when rows of one queue commit, with its Postgres ``NOTIFY`` channel.

    Every waiter in the process has an event of its own (``subscribe``), so two loops
    waiting on one queue (two daemons in one process, as tests run them) both wake.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.signals = 0
        self._lock = threading.Lock()
        self._events: list[threading.Event] = []
        self._default = self.subscribe()

    def subscribe(self) -> threading.Event:
        """A new event, set by every later ``set`` until ``unsubscribe``."""
        event_ = threading.Event()
        with self._lock:
            self._events.append(event_)
        return event_

    def unsubscribe(self, event_: threading.Event) -> None:
        with self._lock:
            if event_ in self._events:
                self._events.remove(event_)

    def set(self) -> None:
        with self._lock:
            self.signals += 1
            events = list(self._events)
        for event_ in events:
            event_.set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a signal on the default subscription and
        consume it; True if one came."""
        woken = self._default.wait(timeout)
        self._default.clear()
        return woken


#: Set when outbox rows (webhooks to deliver) commit.
OUTBOX = Wakeup("syncd_outbox")
#: Set when managed events become due (an upsert or delete through the API commits).
MANAGED = Wakeup("syncd_managed")


def signal_on_commit(session: Session, wakeup: Wakeup) -> None:
    """Set ``wakeup`` when ``session``'s transaction commits (once however often called);
    a rollback drops it."""
    pending: set[Wakeup] = session.info.setdefault(_PENDING, set())
    if wakeup in pending:
        return
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_rollback", _rolled_back)
        session.info[_HOOKED] = True
    pending.add(wakeup)
    if session.get_bind().dialect.name == "postgresql":
        # Delivered by the server at commit, dropped on rollback, coalesced per transaction.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": wakeup.channel})


_PENDING = "syncd.wakeups"
_HOOKED = "syncd.wakeups.hooked"


def _committed(session: Session) -> None:
    for wakeup in session.info.pop(_PENDING, set()):
        wakeup.set()


def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def listen(engine: Engine, wakeup: Wakeup, stop: threading.Event) -> threading.Thread | None:
    """On Postgres, a daemon thread setting ``wakeup`` on each ``NOTIFY`` of its channel
    from any process, until ``stop`` is set; ``None`` on SQLite (one process)."""
    if engine.dialect.name != "postgresql":
        return None
    thread = threading.Thread(
        target=_listen_forever,
        args=(engine, wakeup, stop),
        name=f"listen-{wakeup.channel}",
        daemon=True,
    )
    thread.start()
    return thread


def _listen_forever(engine: Engine, wakeup: Wakeup, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            _listen_once(engine, wakeup, stop)
        except (psycopg.Error, OSError) as error:
            log.warning("LISTEN %s lost (%s); reconnecting", wakeup.channel, type(error).__name__)
            wakeup.set()  # something may have been missed meanwhile
            stop.wait(LISTEN_POLL_SECONDS)


def _listen_once(engine: Engine, wakeup: Wakeup, stop: threading.Event) -> None:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'LISTEN "{wakeup.channel}"')
        while not stop.is_set():
            for _notice in connection.notifies(timeout=LISTEN_POLL_SECONDS):
                wakeup.set()
