"""The commands that sync and serve: ``sync``, ``work``, ``migrate``, ``run``, ``serve``
and ``demo`` (registered on the top-level app by ``syncd.cli``)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from syncd import metrics
from syncd.api.server import ApiServer
from syncd.cli.output import JsonOption, err, out, print_json, table
from syncd.cli.progress import SyncProgress, reporting_factory
from syncd.cli.runtime import runtime
from syncd.conferencing.worker import ManagedEventWorker
from syncd.config import load_settings
from syncd.demo import run_demo
from syncd.errors import ConfigError, OperatorError, SecretBoxError
from syncd.logs import set_level as set_log_level
from syncd.memory import limit_malloc_arenas, settle_collector
from syncd.notify.channels import install_sync_hooks
from syncd.signals import stop_on_signals, stopped_after, wait_until_set
from syncd.store.crypto import SecretBox
from syncd.store.db import current_revisions, describe_database, schema_is_current
from syncd.store.models import utcnow
from syncd.store.profiles import find_profile, list_profiles
from syncd.sync.daemon import SyncDaemon
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile
from syncd.sync.status import UNDECRYPTABLE
from syncd.systemd import Notifier


def work_command(
    once: Annotated[
        bool, typer.Option("--once", hidden=True, help="Accepted; work always runs once.")
    ] = True,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
) -> None:
    """Write due managed events (and their conferencing) once, as the daemon's job does.

    Webhooks they cause are queued in the outbox and sent by `syncd run`.
    """
    worker = ManagedEventWorker(runtime.engine, runtime.settings, runtime.box, worker_id="cli-work")
    out.print(f"processed {worker.run_due(limit)} managed event(s)")


def _leased_elsewhere(profile_id: str) -> SyncOutcome | None:
    """A skip saying which daemon is syncing the profile right now, if one is."""
    with runtime.session() as session:
        profile = find_profile(session, profile_id)
        owner, expires = profile.lease_owner, profile.lease_expires_at
    if owner is None or expires is None or expires <= utcnow():
        return None
    return SyncOutcome(profile_id, "skipped", detail=f"daemon {owner} is syncing it right now")


def sync_once(
    profile_ids: list[str],
    on_done: Callable[[SyncOutcome], None],
    progress: SyncProgress | None = None,
) -> list[SyncOutcome]:
    context = SyncContext(runtime.engine, runtime.settings, runtime.box, worker_id="cli")
    if progress is not None:
        context.provider_factory = reporting_factory(progress.page)
    install_sync_hooks(context)  # notifications are queued here and sent by `syncd run`
    outcomes = []
    for profile_id in profile_ids:
        if progress is not None:
            progress.started(profile_id)
        outcome = _leased_elsewhere(profile_id) or sync_profile(context, profile_id)
        outcomes.append(outcome)
        on_done(outcome)
    return outcomes


def sync_command(
    once: Annotated[
        bool, typer.Option("--once", hidden=True, help="Accepted; sync always runs once.")
    ] = True,
    profile_id: Annotated[
        str | None, typer.Option("--profile", help="Only this profile (pro_…).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Sync every connected profile (or one) once, then print a summary.

    One pass, then exit: the daemon that keeps syncing is `syncd run`.
    """
    with runtime.session() as session:
        if profile_id:
            ids = [find_profile(session, profile_id).id]
        else:
            ids = [p.id for p in list_profiles(session) if p.sync_status != "disconnected"]
    if out.is_terminal and not as_json:
        with SyncProgress(out, len(ids)) as progress:
            outcomes = sync_once(ids, progress.finished, progress)
    else:
        outcomes = sync_once(ids, lambda _: None)
    rows = [
        {
            "profile_id": o.profile_id,
            "outcome": o.outcome,
            "calendars": o.calendars,
            "pages": o.pages,
            "changes": o.changes,
            "skipped_items": o.skipped_items,
            "failed_calendars": len(o.failed_calendars),
            "detail": o.detail,
        }
        for o in outcomes
    ]
    if as_json:
        print_json(rows)
    else:
        columns = list(rows[0]) if rows else ["profile_id"]
        table("sync summary", columns, [list(row.values()) for row in rows])
    undecryptable = sum(o.outcome == "key_error" for o in outcomes)
    if undecryptable:
        raise SecretBoxError(
            f"{undecryptable} profile(s): {UNDECRYPTABLE}; add the key they were encrypted "
            "with to secret_keys"
        )
    if any(o.outcome not in ("ok", "skipped") for o in outcomes):
        raise typer.Exit(1)


def migrate_command() -> None:
    """Upgrade the database schema to this version's newest migration, then exit."""
    engine = runtime.engine  # upgrades
    before, after = runtime.revisions_before, current_revisions(engine)
    if not schema_is_current(engine):
        raise OperatorError("the schema is still behind after upgrading")
    where = describe_database(runtime.settings.database_url)
    shown = ", ".join(before) or "an empty database"
    if before == after:
        out.print(f"{where}: schema is current at revision {', '.join(after)}", markup=False)
    else:
        out.print(f"{where}: upgraded from {shown} to {', '.join(after)}", markup=False)


HostOption = Annotated[
    str | None, typer.Option("--host", help="Address the API listens on (default: api_host).")
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", help="Port the API listens on (default: api_port, 8080; 0: any)."),
]


def _api_server(host: str | None, port: int | None) -> ApiServer:
    settings = runtime.settings
    return ApiServer(
        settings,
        runtime.engine,
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
    )


def run_command(
    host: HostOption = None,
    port: PortOption = None,
    no_api: Annotated[bool, typer.Option("--no-api", help="Sync only, no HTTP API.")] = False,
) -> None:
    """The long-running daemon: sync plus the HTTP API in one process.

    SIGTERM/SIGINT: stop taking work, finish or release what is in flight, exit 0.
    SIGHUP: reload the configuration that can change live (intervals, log level, keys).
    Under systemd (Type=notify) it reports READY, STATUS and feeds the watchdog.
    Stays in the foreground; Ctrl-C stops it.
    """
    limit_malloc_arenas()  # before any of the daemon's threads
    stop = stop_on_signals()
    reload_requested = threading.Event()
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reload_requested.set())
    notifier = Notifier()
    err.print(f"syncd database: {describe_database(runtime.settings.database_url)}", markup=False)
    daemon = SyncDaemon(runtime.engine, runtime.settings, runtime.box)
    daemon.start()
    server = None
    try:
        if not no_api:
            server = _api_server(host, port)
            server.start()
            err.print(f"syncd API listening on {server.url}")
        settle_collector()  # up: what is alive now lives as long as the daemon
        notifier.ready(daemon.status_line())
        notifier.start_watchdog(daemon.healthy, daemon.status_line)
        while not stopped_after(stop):
            if reload_requested.is_set():
                reload_requested.clear()
                notifier.reloading()
                _reload(daemon, server)
                notifier.ready(daemon.status_line())
        notifier.stopping()
    finally:
        if server is not None:
            server.stop()
        daemon.stop()
        notifier.close()


def _reload(daemon: SyncDaemon, server: ApiServer | None) -> None:
    """Re-read the configuration and apply what can change while running."""
    try:
        settings = load_settings(runtime.config_path)
        box = SecretBox(settings.secret_keys)
    except (ConfigError, SecretBoxError) as error:
        metrics.CONFIG_RELOADS.labels("failed").inc()
        logging.getLogger("syncd").error("configuration not reloaded: %s", error)
        return
    ignored = daemon.reload(settings, box)
    set_log_level(settings.log_level)
    if server is not None:
        server.app.state.settings = daemon.settings
        server.app.state.box = box
    metrics.CONFIG_RELOADS.labels("ok").inc()
    logging.getLogger("syncd").info(
        "configuration reloaded (poll_interval %s s, log level %s)%s",
        settings.poll_interval,
        settings.log_level,
        f"; restart needed for {', '.join(ignored)}" if ignored else "",
    )


def serve_command(
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """The HTTP API only (the sync daemon runs elsewhere)."""
    limit_malloc_arenas()  # before the server's threads
    stop = stop_on_signals()
    err.print(f"syncd database: {describe_database(runtime.settings.database_url)}", markup=False)
    server = _api_server(host, port)
    server.start()
    err.print(f"syncd API listening on {server.url}")
    settle_collector()
    try:
        wait_until_set(stop)
    finally:
        server.stop()


def demo_command(
    folder: Annotated[
        Path | None,
        typer.Option("--folder", help="Keep the demo's files here (default: a temp folder)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="API port (0: any free port).")] = 8080,
    caldav_port: Annotated[
        int | None,
        typer.Option(
            "--caldav-port", help="Port of the local CalDAV server (default: any free one)."
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: Ctrl-C)."),
    ] = None,
) -> None:
    """A real daemon on SQLite syncing a real local CalDAV server, with the API up."""
    limit_malloc_arenas()  # a daemon too
    run_demo(folder=folder, api_port=port, duration=duration, console=out, caldav_port=caldav_port)
