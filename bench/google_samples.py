"""Sample Google Calendar events for the benchmarks: deterministic, realistic shapes.

Used by the emulator child process (``bench.common``) and by ``bench.sync_google``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

ZONE = "Europe/Berlin"


def sample_google_event(index: int, first_day: dt.date) -> dict[str, Any]:
    """One event resource as a client would insert it (the emulator fills in the rest)."""
    start = dt.datetime.combine(first_day, dt.time(8)) + dt.timedelta(hours=3 * index)
    event: dict[str, Any] = {
        "id": f"bench{index:07d}",
        "summary": f"Seeded event {index}",
        "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat(), "timeZone": ZONE},
    }
    if index % 25 == 0:
        day = start.date()
        event["start"] = {"date": day.isoformat()}
        event["end"] = {"date": (day + dt.timedelta(days=1)).isoformat()}
    if index % 10 == 0:
        event["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=10"]
    if index % 3 == 0:
        event["location"] = "Room 1"
    if index % 7 == 0:
        event["attendees"] = [
            {"email": "alice@example.com", "self": True, "responseStatus": "accepted"},
            {"email": "bob@example.com", "responseStatus": "needsAction"},
        ]
        event["description"] = "Agenda: numbers, plans, questions."
    return event


def seed_google_events(emulator: Any, calendar_id: str, events: int) -> None:
    """Put ``events`` sample events into the emulator's calendar (called in its process)."""
    span_days = events * 3 // 24
    first_day = dt.date.today() - dt.timedelta(days=min(60, span_days // 2))
    for index in range(events):
        emulator.put_event(calendar_id, sample_google_event(index, first_day))
