"""systemd service notifications (``sd_notify``): READY, WATCHDOG, STATUS, RELOADING, STOPPING.

The protocol is one datagram of ``KEY=VALUE`` lines to the Unix socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means the abstract namespace). It is implemented here
rather than through a library so nothing is sent when the variable is unset (running by
hand, in a container, in tests) and failures to send never disturb the daemon.

The watchdog is fed only while the daemon says it is healthy (its dispatch loop ran
recently), so a wedged scheduler is restarted by systemd instead of being kept alive by a
thread that merely pings.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to the service manager; every method is a no-op without one."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environment = os.environ if environ is None else environ
        self.address = environment.get("NOTIFY_SOCKET") or None
        self.watchdog_seconds = _watchdog_seconds(environment)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._watchdog_stop = threading.Event()
        self._watchdog_thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); True if a datagram was sent."""
        if self.address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with self._lock:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.sendto(message.encode(), target)
        except OSError as error:
            log.warning("could not notify the service manager at %s: %s", self.address, error)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        fields: dict[str, str | int] = {"READY": 1, "MAINPID": os.getpid()}
        if status:
            fields["STATUS"] = status
        return self.notify(**fields)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def reloading(self) -> bool:
        return self.notify(RELOADING=1)

    def stopping(self, status: str = "stopping: finishing syncs in flight") -> bool:
        return self.notify(STOPPING=1, STATUS=status)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def start_watchdog(
        self, healthy: Callable[[], bool], status: Callable[[], str] | None = None
    ) -> None:
        """Feed the watchdog at half its interval while ``healthy()``; refresh STATUS too."""
        if self.address is None or self.watchdog_seconds is None:
            return
        interval = self.watchdog_seconds / 2

        def feed() -> None:
            while not self._watchdog_stop.wait(interval):
                if healthy():
                    self.watchdog()
                else:
                    log.error("not feeding the systemd watchdog: the scheduler is stalled")
                if status is not None:
                    self.status(status())

        self._watchdog_thread = threading.Thread(target=feed, name="sd-watchdog", daemon=True)
        self._watchdog_thread.start()

    def close(self) -> None:
        self._watchdog_stop.set()
        if self._watchdog_thread is not None:
            self._watchdog_thread.join(timeout=5)
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _watchdog_seconds(environment: dict[str, str] | os._Environ[str]) -> float | None:
    """``WATCHDOG_USEC`` in seconds, when it is meant for this process."""
    usec = environment.get("WATCHDOG_USEC")
    pid = environment.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
