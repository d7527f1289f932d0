"""Graph's ``location.coordinates`` (outlookGeoCoordinates) is read as the event's geo,
so ``GET /v1/events?include_geo=true`` can answer ``location.lat``/``long``."""

from __future__ import annotations

from typing import Any

from providers.base import Geo
from providers.microsoft.mapping import event_from_graph


def graph_item(location: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "AAMkevent1",
        "subject": "Offsite",
        "start": {"dateTime": "2030-01-08T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-01-08T10:00:00.0000000", "timeZone": "UTC"},
        "location": location,
    }


def test_coordinates_are_read_with_the_location() -> None:
    event = event_from_graph(
        graph_item({"displayName": "HQ", "coordinates": {"latitude": 51.5, "longitude": -0.12}})
    )

    assert (event.location, event.geo) == ("HQ", Geo(latitude=51.5, longitude=-0.12))


def test_a_location_without_coordinates_has_no_geo() -> None:
    assert event_from_graph(graph_item({"displayName": "HQ", "coordinates": {}})).geo is None


def test_coordinates_out_of_range_are_left_out_and_the_event_kept() -> None:
    event = event_from_graph(
        graph_item({"displayName": "HQ", "coordinates": {"latitude": 91, "longitude": 0}})
    )

    assert (event.summary, event.geo) == ("Offsite", None)
