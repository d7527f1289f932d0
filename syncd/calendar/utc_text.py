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

__all__ = ["utc_iso"]

#: Most instants remembered; when full, the memory starts again (no eviction order to
#: keep: a page's texts are made in a few passes over its instants, each pass in the
#: same order, which an LRU of fewer entries than one pass would miss every time).
CACHED_INSTANTS = 65_536

_texts: dict[dt.datetime, str] = {}


def utc_iso(value: dt.datetime) -> str:
    """``value.isoformat()``, remembered for ``datetime.UTC`` values."""
    if type(value) is not dt.datetime or value.tzinfo is not dt.UTC:
        return value.isoformat()
    text = _texts.get(value)
    if text is None:
        if len(_texts) >= CACHED_INSTANTS:
            _texts.clear()
        text = _texts[value] = value.isoformat()
    return text
