"""The ISO text of a UTC instant, made once for the several texts a page writes of it.

Writing one timed item made its start's text up to five times (the item's own text, the
occurrence's Cronofy text, the UTC columns of the event and of the occurrence), and the
same for its end: ``isoformat`` was a fifth of writing a page. Each text is now a slice
of one cached ``isoformat``. Only ``datetime.UTC`` instants are cached: for them, equal
values (the cache's test) always have the same text, which two equal times in other
zones (or the two readings of a repeated local hour) do not.
"""

from __future__ import annotations

import datetime as dt
import functools

__all__ = ["utc_iso"]

#: Distinct instants remembered: a page of 2,500 items names ~7,500 (start, end, update).
CACHED_INSTANTS = 16_384


@functools.lru_cache(maxsize=CACHED_INSTANTS)
def _cached_iso(value: dt.datetime) -> str:
    return value.isoformat()


def utc_iso(value: dt.datetime) -> str:
    """``value.isoformat()``, cached for ``datetime.UTC`` values."""
    if type(value) is dt.datetime and value.tzinfo is dt.UTC:
        return _cached_iso(value)
    return value.isoformat()
