"""``syncd status``: a summary of the fleet, read from the store and the metrics."""

from __future__ import annotations

from syncd.cli.output import JsonOption, out, print_json, table
from syncd.cli.runtime import runtime
from syncd.sync.fleet_summary import fleet_summary

__all__ = ["fleet_summary", "status_command"]


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
