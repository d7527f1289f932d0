"""The daemon's delivery loop: sends webhooks as soon as their rows commit.

One thread per daemon waits on ``syncd.store.wakeups.OUTBOX``, which an enqueue sets when
its transaction commits (in this process directly; from other processes through Postgres
``LISTEN/NOTIFY``), and otherwise wakes every ``poll_seconds`` (retries coming due, a
missed notification). Each wake runs passes of ``deliver_due`` back to back until a pass
finds fewer rows than its batch, so a burst is drained at the pool's pace rather than a
batch per tick; wakes arriving meanwhile collapse into the next pass. Passes share one
``httpx.Client`` (kept-alive connections to each receiver); the pool and per-host bounds
are ``deliver_due``'s (``webhook_concurrency``, ``webhook_per_host_concurrency``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from syncd.config import Settings
from syncd.notify.delivery import deliver_due
from syncd.store.crypto import SecretBox
from syncd.store.wakeups import OUTBOX, Wakeup, listen

log = logging.getLogger(__name__)

#: Seconds between passes when nothing wakes the loop (retries coming due).
POLL_SECONDS = 1.0
#: Rows leased per pass: a few rounds of the pool, so results are recorded in batches.
BATCH_ROUNDS = 4


class DeliveryLoop:
    """Runs ``deliver_due`` on its own thread whenever the outbox may have due rows."""

    def __init__(
        self,
        engine: Engine,
        settings: Callable[[], Settings],
        box: Callable[[], SecretBox],
        worker_id: str,
        stop: threading.Event,
        wakeup: Wakeup = OUTBOX,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.box = box
        self.worker_id = worker_id
        self.stop_event = stop
        self.wakeup = wakeup
        self.poll_seconds = poll_seconds
        self.passes = 0
        self.delivered = 0
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_width = 0
        self._woken = wakeup.subscribe()

    def start(self) -> None:
        listen(self.engine, self.wakeup, self.stop_event)
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Wait for the pass in flight (it hands unsent rows back once ``stop`` is set)."""
        self.stop_event.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self._woken.clear()  # rows committed from here on wake the next wait
                self.drain()
                if not self.stop_event.is_set():
                    self._woken.wait(self.poll_seconds)
        finally:
            self.wakeup.unsubscribe(self._woken)
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            if self._client is not None:
                self._client.close()

    def drain(self) -> int:
        """Passes until one leases less than a full batch; returns how many were delivered."""
        delivered = 0
        while not self.stop_event.is_set():
            settings = self.settings()
            batch = settings.webhook_concurrency * BATCH_ROUNDS
            try:
                sent, leased = self._pass(settings, batch)
            except Exception:
                log.exception("webhook delivery pass failed")
                return delivered
            delivered += sent
            if leased < batch:
                return delivered
        return delivered

    def _pass(self, settings: Settings, batch: int) -> tuple[int, int]:
        client = self._client_for(settings)
        counted: list[int] = []
        sent = deliver_due(
            self.engine,
            settings,
            self.box(),
            self.worker_id,
            batch,
            client=client,
            stop=self.stop_event,
            leased=counted,
            pool=self._pool_for(settings),
        )
        self.passes += 1
        self.delivered += sent
        return sent, sum(counted)

    def _pool_for(self, settings: Settings) -> ThreadPoolExecutor:
        """The senders' threads, kept across passes (rebuilt if the width changes)."""
        if self._pool is None or self._pool_width != settings.webhook_concurrency:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool_width = settings.webhook_concurrency
            self._pool = ThreadPoolExecutor(self._pool_width, thread_name_prefix="webhook")
        return self._pool

    def _client_for(self, settings: Settings) -> httpx.Client:
        if self._client is None or self._client.timeout.read != settings.webhook_timeout:
            if self._client is not None:
                self._client.close()
            self._client = httpx.Client(
                timeout=settings.webhook_timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(
                    max_connections=settings.webhook_concurrency,
                    max_keepalive_connections=settings.webhook_concurrency,
                ),
            )
        return self._client
