"""``syncd status``: a summary of the fleet, read from the store and the metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from syncd import metrics
from syncd.cli.output import JsonOption, out, print_json, table
from syncd.cli.runtime import runtime
from syncd.config import Settings
from syncd.logs import redact
from syncd.store import fleet
from syncd.store.db import describe_database
from syncd.store.heartbeats import heartbeats_since
from syncd.store.models import utcnow


def fleet_summary(engine: Engine, settings: Settings, errors: int = 10) -> dict[str, Any]:
    """What `syncd status` shows: the database, profiles by status and provider,
    scheduling, the daemons alive now (their leases unexpired) and those that ran syncs in
    the last hour, queue backlogs and the latest errors (redacted)."""
    now = utcnow()
    hour_ago = now - dt.timedelta(hours=1)
    with engine.connect() as connection:
        counts = metrics.fleet_counts(connection, settings.staleness_bound)
        queues = metrics.backlogs(connection)
        providers = fleet.stored_status_counts_by_provider(connection)
        oldest_due = fleet.oldest_due_at(connection, now)
        outcomes = fleet.sync_outcome_counts_since(connection, hour_ago)
        workers = [
            {"worker": row.worker, "runs": row.runs, "last_run_at": row.last_run_at.isoformat()}
            for row in fleet.workers_active_since(connection, hour_ago)
        ]
        leased = {row.worker: row.profiles for row in fleet.lease_holders_at(connection, now)}
        failing = fleet.latest_profile_errors(connection, errors)
    since = now - dt.timedelta(seconds=settings.lease_seconds)
    alive = [
        {
            "worker": beat.worker,
            "started_at": beat.started_at.isoformat(),
            "last_heartbeat_at": beat.last_seen_at.isoformat(),
            "leased_profiles": leased.pop(beat.worker, 0),
        }
        for beat in heartbeats_since(engine, since)
    ]
    alive += [  # a daemon of an older release (no heartbeat row) that holds leases
        {"worker": w, "started_at": None, "last_heartbeat_at": None, "leased_profiles": n}
        for w, n in leased.items()
    ]
    return {
        "database": describe_database(settings.database_url),
        "profiles": {"total": sum(counts.by_status.values()), **counts.by_status},
        "by_provider": providers,
        "scheduling": {
            "due": counts.due,
            "leased": counts.leased,
            "most_overdue_seconds": round((now - oldest_due).total_seconds(), 1)
            if oldest_due
            else 0,
        },
        "syncs_last_hour": outcomes,
        "daemons_alive": alive,
        "daemons_last_hour": workers,
        "queues": {
            queue: {
                "pending": item.pending,
                "oldest_pending_age_seconds": round((now - item.oldest_pending_at).total_seconds())
                if item.oldest_pending_at
                else 0,
            }
            for queue, item in queues.items()
        },
        "last_errors": [
            {
                "profile_id": row.profile_id,
                "provider": row.provider,
                "sync_status": row.sync_status,
                "failures": row.failure_count,
                "last_attempt_at": row.last_attempt_at.isoformat() if row.last_attempt_at else None,
                "error": redact(row.last_error or ""),
            }
            for row in failing
        ],
    }


def status_command(as_json: JsonOption = False) -> None:
    """A summary of the fleet: profiles by status, scheduling, daemons, backlogs, errors."""
    runtime.require_database()
    summary = fleet_summary(runtime.engine, runtime.settings)
    if as_json:
        print_json(summary)
        return
    out.print(f"database: {summary['database']}", markup=False, highlight=False)
    profiles = summary["profiles"]
    table(
        "profiles",
        ["total", "active", "pending", "disconnected"],
        [[profiles[key] for key in ("total", "active", "pending", "disconnected")]],
    )
    if summary["by_provider"]:
        table(
            "stored sync_status by provider",
            ["provider", "active", "pending", "disconnected"],
            [
                [name, row.get("active", 0), row.get("pending", 0), row.get("disconnected", 0)]
                for name, row in sorted(summary["by_provider"].items())
            ],
        )
    scheduling = summary["scheduling"]
    table(
        "scheduling",
        ["due now", "leased now", "most overdue (s)", "syncs last hour"],
        [
            [
                scheduling["due"],
                scheduling["leased"],
                scheduling["most_overdue_seconds"],
                ", ".join(f"{k}: {v}" for k, v in sorted(summary["syncs_last_hour"].items()))
                or "none",
            ]
        ],
    )
    if summary["daemons_alive"]:
        table(
            "daemons alive now (heartbeat within lease_seconds)",
            ["worker", "started_at", "last_heartbeat_at", "leased profiles"],
            [list(row.values()) for row in summary["daemons_alive"]],
        )
    else:
        out.print("daemons alive now: none (no heartbeat within lease_seconds)", markup=False)
    if summary["daemons_last_hour"]:
        table(
            "sync runs by daemon (last hour; a daemon listed here may have stopped since)",
            ["worker", "runs", "last_run_at"],
            [list(row.values()) for row in summary["daemons_last_hour"]],
        )
    if summary["queues"]:
        table(
            "queues",
            ["queue", "pending", "oldest pending (s)"],
            [
                [queue, item["pending"], item["oldest_pending_age_seconds"]]
                for queue, item in summary["queues"].items()
            ],
        )
    if summary["last_errors"]:
        columns = ["profile_id", "provider", "sync_status", "failures", "last_attempt_at", "error"]
        table("last errors", columns, [[row[c] for c in columns] for row in summary["last_errors"]])
