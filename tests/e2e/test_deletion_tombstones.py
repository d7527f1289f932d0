"""Issue 12, item 1: deletions are visible through ``last_modified`` + ``include_deleted``.

Cronofy's pattern is a ``change`` notification, then ``GET /v1/events?last_modified=
<changes_since>&include_deleted=true``. Per provider: an event deleted at the provider
(Google emulator, Graph emulator, Radicale), synced, comes back as a tombstone with its
``event_uid`` and ``deleted: true``; so does one a full resync no longer lists, and one
deleted through the API. Tombstones are never listed without ``include_deleted`` and are
pruned after the retention.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from syncd.conferencing.worker import ManagedEventWorker
from syncd.store.db import session_scope
from syncd.store.models import EventTombstone
from syncd.store.tombstones import prune
from tests.support.provider_world import (
    GOOGLE_CALENDAR,
    GRAPH_CALENDAR,
    ProviderWorld,
    google_timed,
    graph_timed,
    only,
    provider_world,
    utc,
    wire,
)

__all__ = ["provider_world"]  # the shared fixture, from tests/support/provider_world.py


def _changes_since() -> str:
    """What a change notification would carry: the run's start, whole seconds."""
    return wire(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1))


def _caldav_event(world: ProviderWorld, uid: str, hour: int = 9) -> None:
    world.put_caldav(
        uid,
        f"""
        SUMMARY:{uid}
        DTSTART:{utc(1, hour).strftime("%Y%m%dT%H%M%SZ")}
        DTEND:{utc(1, hour + 1).strftime("%Y%m%dT%H%M%SZ")}
        """,
    )


def _assert_tombstone(world: ProviderWorld, provider: str, summary: str, uid: str) -> None:
    since = _changes_since()
    world.sync(provider)

    changes = world.events_of(provider, last_modified=since, include_deleted="true")
    plain = world.events_of(provider, last_modified=since)

    tombstone = only(changes, summary)
    assert tombstone["event_uid"] == uid
    assert tombstone["deleted"] is True
    assert tombstone["calendar_id"] == world.calendars[provider]
    assert tombstone["start"] == wire(utc(1, 9))
    assert dt.datetime.strptime(tombstone["updated"], "%Y-%m-%dT%H:%M:%SZ")
    assert wire(dt.datetime.fromisoformat(tombstone["updated"].replace("Z", "+00:00"))) >= since
    assert "event_id" not in tombstone
    assert [event for event in plain if event["summary"] == summary] == []


def test_google_deletion_at_the_provider_leaves_a_tombstone(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(GOOGLE_CALENDAR, google_timed("gone0000001", 1, 9))
    provider_world.sync("google")
    uid = only(provider_world.events_of("google"), "gone0000001")["event_uid"]

    provider_world.google.delete_event(GOOGLE_CALENDAR, "gone0000001")

    _assert_tombstone(provider_world, "google", "gone0000001", uid)


def test_graph_deletion_at_the_provider_leaves_a_tombstone(
    provider_world: ProviderWorld,
) -> None:
    provider_world.graph.put_event(GRAPH_CALENDAR, graph_timed("AAMkAGgone", 1, 9))
    provider_world.sync("microsoft")
    uid = only(provider_world.events_of("microsoft"), "AAMkAGgone")["event_uid"]

    provider_world.graph.delete_event(GRAPH_CALENDAR, "AAMkAGgone")

    _assert_tombstone(provider_world, "microsoft", "AAMkAGgone", uid)


def test_caldav_deletion_at_the_provider_leaves_a_tombstone(
    provider_world: ProviderWorld,
) -> None:
    _caldav_event(provider_world, "caldav-gone")
    provider_world.sync("caldav")
    uid = only(provider_world.events_of("caldav"), "caldav-gone")["event_uid"]

    provider_world.caldav.server.delete_event(provider_world.caldav.calendar_url, "caldav-gone")

    _assert_tombstone(provider_world, "caldav", "caldav-gone", uid)


def test_an_item_a_full_resync_no_longer_lists_leaves_a_tombstone(
    provider_world: ProviderWorld,
) -> None:
    provider_world.graph.put_event(GRAPH_CALENDAR, graph_timed("AAMkAGstale", 1, 9))
    provider_world.graph.put_event(GRAPH_CALENDAR, graph_timed("AAMkAGkept", 1, 12))
    provider_world.sync("microsoft")
    uid = only(provider_world.events_of("microsoft"), "AAMkAGstale")["event_uid"]

    provider_world.graph.delete_event(GRAPH_CALENDAR, "AAMkAGstale")
    provider_world.graph.expire_delta_tokens(GRAPH_CALENDAR)  # the next sync is a full one

    _assert_tombstone(provider_world, "microsoft", "AAMkAGstale", uid)
    changes = provider_world.events_of("microsoft", include_deleted="true")
    assert [e["summary"] for e in changes if e["deleted"]] == ["AAMkAGstale"]


def test_a_deleted_series_leaves_one_tombstone_with_its_series_identifier(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        {**google_timed("series00001", 1, 9), "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]},
    )
    provider_world.sync("google")
    live = [e for e in provider_world.events_of("google") if e["summary"] == "series00001"]
    provider_world.google.delete_event(GOOGLE_CALENDAR, "series00001")
    provider_world.sync("google")

    (tombstone,) = [
        e for e in provider_world.events_of("google", include_deleted="true") if e["deleted"]
    ]

    assert tombstone["recurring"] is True
    assert tombstone["series_identifier"] == live[0]["series_identifier"]


def test_an_external_event_deleted_through_the_api_leaves_a_tombstone(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(GOOGLE_CALENDAR, google_timed("apidel00001", 1, 9))
    provider_world.sync("google")
    uid = only(provider_world.events_of("google"), "apidel00001")["event_uid"]
    since = _changes_since()

    response = provider_world.client.request(
        "DELETE",
        f"/v1/calendars/{provider_world.calendars['google']}/events",
        headers=provider_world.auth(),
        json={"event_uid": uid},
    )
    assert response.status_code == 202
    ManagedEventWorker(provider_world.engine, provider_world.settings, provider_world.box).run_due()

    changes = provider_world.events_of("google", last_modified=since, include_deleted="true")
    assert [(e["event_uid"], e["deleted"]) for e in changes] == [(uid, True)]


def test_a_managed_event_deleted_through_the_api_is_listed_with_include_managed_only(
    provider_world: ProviderWorld,
) -> None:
    calendar_id = provider_world.calendars["google"]
    body = {
        "event_id": "booking-1",
        "summary": "Booking",
        "start": wire(utc(2, 9)),
        "end": wire(utc(2, 10)),
        "tzid": "Etc/UTC",
    }
    worker = ManagedEventWorker(provider_world.engine, provider_world.settings, provider_world.box)
    path = f"/v1/calendars/{calendar_id}/events"
    assert (
        provider_world.client.post(path, headers=provider_world.auth(), json=body).status_code
        == 202
    )
    worker.run_due()
    provider_world.sync("google")
    provider_world.client.request(
        "DELETE", path, headers=provider_world.auth(), json={"event_id": "booking-1"}
    )
    worker.run_due()

    managed = provider_world.events_of("google", include_deleted="true", include_managed="true")
    external_only = provider_world.events_of("google", include_deleted="true")

    (tombstone,) = managed
    assert tombstone["event_id"] == "booking-1" and tombstone["deleted"] is True
    assert tombstone["event_uid"].startswith("evt_external_")
    assert external_only == []


def test_writing_a_deleted_managed_event_again_forgets_its_tombstone(
    provider_world: ProviderWorld,
) -> None:
    calendar_id = provider_world.calendars["google"]
    body = {
        "event_id": "booking-2",
        "summary": "Booking",
        "start": wire(utc(2, 9)),
        "end": wire(utc(2, 10)),
        "tzid": "Etc/UTC",
    }
    worker = ManagedEventWorker(provider_world.engine, provider_world.settings, provider_world.box)
    path = f"/v1/calendars/{calendar_id}/events"
    provider_world.client.post(path, headers=provider_world.auth(), json=body)
    provider_world.client.request(
        "DELETE", path, headers=provider_world.auth(), json={"event_id": "booking-2"}
    )
    worker.run_due()
    assert len(provider_world.events_of("google", include_deleted="1", include_managed="1")) == 1

    provider_world.client.post(path, headers=provider_world.auth(), json=body)
    worker.run_due()

    events = provider_world.events_of("google", include_deleted="1", include_managed="1")
    assert [(e["event_id"], e["deleted"]) for e in events] == [("booking-2", False)]


def test_tombstones_past_the_retention_are_pruned(provider_world: ProviderWorld) -> None:
    provider_world.google.put_event(GOOGLE_CALENDAR, google_timed("old00000001", 1, 9))
    provider_world.sync("google")
    provider_world.google.delete_event(GOOGLE_CALENDAR, "old00000001")
    provider_world.sync("google")
    retention = dt.timedelta(days=provider_world.settings.deleted_event_retention_days)

    with session_scope(provider_world.engine) as session:
        kept = prune(session, retention)
    with session_scope(provider_world.engine) as session:
        pruned = prune(session, retention, now=dt.datetime.now(dt.UTC) + retention * 2)
        left = session.execute(select(func.count()).select_from(EventTombstone)).scalar()

    assert (kept, pruned, left) == (0, 1, 0)
    assert provider_world.events_of("google", include_deleted="true") == []
