"""The fleet at a glance, as ``syncd status`` and the operator view show it: read from the
store queries of ``syncd.store.fleet``, the metrics' fleet gauges and the heartbeats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from syncd import metrics
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
