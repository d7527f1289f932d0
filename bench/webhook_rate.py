"""Webhook delivery rate (issue 13): deliveries per second to a fast local receiver.

``N`` notifications are queued in the outbox and the daemon's delivery loop
(``syncd.notify.deliverer.DeliveryLoop``, the pool and per-host bounds of the settings)
drains them: every row signed, POSTed and recorded as delivered. The receiver is a small
asyncio HTTP/1.1 server with keep-alive in its own process (so its work does not share
our GIL) that answers 204 at once. The floor, in the same run: the same number of bare
POSTs from an ``httpx.Client`` pool of the same width (no database, no signing).

Run from the repository root::

    python -m bench.webhook_rate                      # 2000 deliveries, SQLite
    python -m bench.webhook_rate --postgres URL       # also on Postgres
    python -m bench.webhook_rate --smoke              # 100 deliveries (the CI smoke size)

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import Engine

from bench.conferencing import postgres_schema
from syncd.config import load_settings
from syncd.notify.deliverer import DeliveryLoop
from syncd.notify.outbox import enqueue
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.tenants import create_application

TARGET_PER_SECOND = 300.0
ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.webhook_rate", "--serve", str(port)])
    deadline = time.monotonic() + 60  # a loaded machine starts Python slowly
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}/hook?token=bench"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the receiver did not start")


def queue(engine: Engine, box: SecretBox, url: str, count: int) -> None:
    with session_scope(engine) as session:
        application_id = create_application(session, box, "bench").application.id
        for number in range(count):
            payload = {"notification": {"type": "change", "number": number}}
            enqueue(session, application_id, "change", url, payload)


def floor(url: str, count: int, width: int) -> float:
    """Bare POSTs per second from a kept-alive client pool of the same width."""
    body = b'{"notification":{"type":"change"}}'
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    with httpx.Client(limits=limits, trust_env=False) as client:
        began = time.monotonic()
        with ThreadPoolExecutor(width) as pool:
            list(pool.map(lambda _n: client.post(url, content=body), range(count)))
        return count / (time.monotonic() - began)


def run(database_url: str, label: str, count: int, url: str) -> None:
    key = generate_key()
    engine = make_engine(database_url)
    upgrade_schema(engine)
    box = SecretBox([key])
    settings = load_settings(
        database_url=database_url, secret_keys=[key], webhook_allowed_hosts=["127.0.0.1"]
    )
    queue(engine, box, url, count)
    loop = DeliveryLoop(engine, lambda: settings, lambda: box, "bench", threading.Event())
    began = time.monotonic()
    delivered = loop.drain()
    wall = time.monotonic() - began
    rate = delivered / wall
    width = settings.webhook_concurrency
    bare = floor(url, count, width)
    print(
        f"DELIVERY {label}: {delivered} of {count} delivered in {wall:.2f} s: {rate:.0f}/s "
        f"({loop.passes} passes, concurrency {width}, "
        f"per host {settings.webhook_per_host_concurrency})"
    )
    print(f"FLOOR {label}: bare POSTs from a pool of {width}: {bare:.0f}/s")
    verdict = "met" if rate >= TARGET_PER_SECOND else "NOT met"
    print(f"TARGET {label} >= {TARGET_PER_SECOND:.0f} deliveries/s: {verdict}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this Postgres server")
    parser.add_argument("--smoke", action="store_true", help="100 deliveries")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        asyncio.run(_serve(options.serve))
        return
    count = 100 if options.smoke else options.deliveries
    receiver, url = start_receiver()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            run(f"sqlite:///{Path(scratch) / 'bench.db'}", "sqlite", count, url)
        if options.postgres:
            database_url, drop = postgres_schema(options.postgres)
            try:
                run(database_url, "postgres", count, url)
            finally:
                drop()
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
