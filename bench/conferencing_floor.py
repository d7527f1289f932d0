"""The floor of ``bench/conferencing.py``: the same I/O with no database and no framework.

A process of its own (as the daemon is) serves plain ``http.server``: each POSTed event
is answered 202 at once and queued; ``--workers`` threads (the daemon's writer pool)
each take one, insert it into the Google emulator with plain ``requests`` and POST a
``conferencing_assigned``-shaped webhook to the event's subscription. Run in the same
session as syncd, it shows what the machine (its load included) allowed: syncd's p99
is compared with this one's.

    python -m bench.conferencing_floor --port P --google URL --calendar ID --token T
"""

from __future__ import annotations

import argparse
import json
import queue
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests


def google_body(event: dict[str, Any]) -> dict[str, Any]:
    room = "https://8x8.vc/syncd-" + secrets.token_urlsafe(16)
    return {
        "summary": event.get("summary", ""),
        "description": f"Join 8x8: {room}",
        "location": room,
        "start": {"dateTime": event["start"], "timeZone": event.get("tzid", "Etc/UTC")},
        "end": {"dateTime": event["end"], "timeZone": event.get("tzid", "Etc/UTC")},
    }


def serve(port: int, google: str, calendar: str, token: str, workers: int) -> None:
    jobs: queue.Queue[dict[str, Any]] = queue.Queue()
    insert_url = f"{google.rstrip('/')}/calendar/v3/calendars/{quote(calendar, safe='')}/events"

    def work() -> None:
        session = requests.Session()
        session.trust_env = False
        while True:
            event = jobs.get()
            written = session.post(
                insert_url,
                json=google_body(event),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            written.raise_for_status()
            view = {"event_id": event["event_id"], "conferencing": {"join_url": "x"}}
            body = {"notification": {"type": "conferencing_assigned"}, "event": view}
            for subscription in event.get("subscriptions", []):
                session.post(subscription["uri"], json=body, timeout=30).raise_for_status()

    for _ in range(workers):
        threading.Thread(target=work, daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            jobs.put(json.loads(self.rfile.read(length)))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--google", required=True, help="the emulator's base URL")
    parser.add_argument("--calendar", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--workers", type=int, default=8)
    options = parser.parse_args()
    serve(options.port, options.google, options.calendar, options.token, options.workers)


if __name__ == "__main__":
    main()
