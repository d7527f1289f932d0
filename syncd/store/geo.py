"""An event's coordinates: ``RemoteEvent.geo`` <-> the ``event.geo`` JSON column
(``{"latitude", "longitude"}``), both directions here so sync and re-expansion agree."""

from __future__ import annotations

from typing import Any

from providers.base import Geo, geo_or_none


def geo_json(geo: Geo | None) -> dict[str, float] | None:
    """The ``event.geo`` column for a RemoteEvent's coordinates (None: none)."""
    if geo is None:
        return None
    return {"latitude": float(geo.latitude), "longitude": float(geo.longitude)}


def geo_from_json(value: Any) -> Geo | None:
    """The coordinates back from the column (None when absent or not a valid pair)."""
    if not isinstance(value, dict):
        return None
    return geo_or_none(value.get("latitude"), value.get("longitude"))
