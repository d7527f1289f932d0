"""Turn stored provider items into the concrete busy spans that range reads hit.

The sync engine stores every provider item as it came (a single event, a recurring
master, a modified or cancelled instance) and, per *series*, keeps the occurrences
computed here in an indexed table, so availability and free/busy become one range query
instead of an RRULE evaluation per request.

Recurrences are expanded by recurring-ical-events in the event's own IANA zone, so a
weekly 09:00 Europe/London meeting stays at 09:00 local on both sides of a DST change.
All-day events and floating times are pinned to the account's zone: an all-day event is
a local day, never "UTC midnight". Everything here is pure: no clock, no I/O; the
caller passes the window.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

import icalendar
from recurring_ical_events.util import to_recurrence_ids

from providers.base import RemoteEvent
from syncd.calendar.bounds import (
    InvalidSeries,
    Window,
    bounded_occurrences,
)
from syncd.calendar.recurrence_lines import (
    parse_recurrence_lines,
    raise_for_broken_properties,
    simple_rule,
    validated_recurrence,
)
from syncd.calendar.simple_series import Modification, simple_ical_series, simple_occurrences
from syncd.calendar.spans import (
    InstanceState,
    OccurrenceSpan,
    all_day_value,
    free_busy,
    free_busy_status,
    make_span,
    single_span,
    single_span_in,
    state_of,
    zone_or_none,
)

__all__ = [
    "InvalidSeries",
    "OccurrenceSpan",
    "SeriesExpander",
    "expand_series",
    "free_busy_status",
]

logger = logging.getLogger(__name__)

_UTC = dt.UTC


def expand_series(
    master: RemoteEvent | None,
    overrides: list[RemoteEvent],
    window_start: dt.datetime,
    window_end: dt.datetime,
    default_tz: str = "Etc/UTC",
) -> list[OccurrenceSpan]:
    """The spans of one series that overlap ``[window_start, window_end)``, by start time.

    ``master`` is a single event or a recurring master (``None`` when the provider only
    gave us instances); ``overrides`` are its modified and cancelled instances.
    ``default_tz`` is the account's IANA zone, used for all-day dates and floating times.
    Cancelled instances yield no span; transparent and declined ones yield "free" spans.
    A CalDAV item whose text holds one non-recurring VEVENT is taken from the fields the
    adapter already parsed (no second parse); other items with ``ical`` expand from it.

    Raises InvalidSeries for malformed items; ValueError for a naive window or an
    unknown ``default_tz`` (caller bugs, not provider data).
    """
    return SeriesExpander(window_start, window_end, default_tz).expand(master, overrides)


class SeriesExpander:
    """:func:`expand_series` for the many series of one window and account zone, which
    are resolved once: a page expands thousands, most of them a single event."""

    def __init__(
        self, window_start: dt.datetime, window_end: dt.datetime, default_tz: str = "Etc/UTC"
    ) -> None:
        self.window = Window.of(window_start, window_end)
        self.default_tz = default_tz
        self._account_zone = zone_or_none(default_tz)

    def expand(
        self, master: RemoteEvent | None, overrides: list[RemoteEvent]
    ) -> list[OccurrenceSpan]:
        """The series' spans in the window (as :func:`expand_series`)."""
        window, account_zone = self.window, self._account_zone
        if account_zone is None:
            raise ValueError(f"unknown time zone {self.default_tz!r}")
        if master is None:
            spans = [
                single_span(override, account_zone)
                for override in overrides
                if override.status != "cancelled"
            ]
        elif master.ical and not (master.recurrence or overrides) and _single_vevent(master.ical):
            # A plain CalDAV event: the adapter already parsed its times; don't parse it again.
            return (
                [] if master.status == "cancelled" else single_span_in(master, account_zone, window)
            )
        elif master.ical:
            spans = _expand_ical_text(master, window, account_zone)
        elif not master.recurrence and not overrides:
            return (
                [] if master.status == "cancelled" else single_span_in(master, account_zone, window)
            )
        else:
            spans = _expand_remote_series(master, overrides, window, account_zone)
        if len(spans) == 1:  # a single event: nothing to sort
            return spans if window.overlaps(spans[0]) else []
        return sorted(
            (span for span in spans if window.overlaps(span)),
            key=lambda span: (span.start_utc, span.end_utc, span.source_event_id),
        )


# ---------------------------------------------------------------------------
# Series from RemoteEvent fields (Google, Microsoft)
# ---------------------------------------------------------------------------


def _series_zone(event: RemoteEvent, account_zone: ZoneInfo) -> ZoneInfo:
    """The zone a series repeats in: its tzid, else its start's zone, else the account's."""
    zone = zone_or_none(event.tzid)
    if zone is not None:
        return zone
    if event.tzid:
        logger.warning(
            "event %s has unknown tzid %r; expanding in %s",
            event.provider_event_id,
            event.tzid,
            account_zone.key,
        )
    if isinstance(event.start, dt.datetime) and isinstance(event.start.tzinfo, ZoneInfo):
        return event.start.tzinfo
    return account_zone


def _in_zone(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.date | dt.datetime:
    """Express a time in the series zone so the expander repeats local wall-clock time."""
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


@dataclass(frozen=True)
class _RemoteSeries:
    """A master and its overrides in the series zone, as both expansion paths see them."""

    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    #: Cancelled instances, by their original start.
    exdates: list[dt.date | dt.datetime]
    #: Moved or changed instances; ``key`` indexes ``states``.
    modifications: list[Modification]
    states: list[InstanceState]
    #: Overrides without ``original_start``: shown on their own.
    unmatched: list[RemoteEvent]


def _remote_series(
    master: RemoteEvent, overrides: list[RemoteEvent], account_zone: ZoneInfo
) -> _RemoteSeries:
    zone = _series_zone(master, account_zone)
    series = _RemoteSeries(
        _in_zone(all_day_value(master.start, master.all_day), zone),
        _in_zone(all_day_value(master.end, master.all_day), zone),
        [],
        [],
        [],
        [],
    )
    for override in overrides:
        if override.original_start is None:
            series.unmatched.append(override)
            continue
        recurrence_id = _in_zone(all_day_value(override.original_start, master.all_day), zone)
        if override.status == "cancelled":
            series.exdates.append(recurrence_id)
            continue
        override_zone = zone_or_none(override.tzid) or zone
        series.modifications.append(
            Modification(
                recurrence_id=recurrence_id,
                start=_in_zone(all_day_value(override.start, override.all_day), override_zone),
                end=_in_zone(all_day_value(override.end, override.all_day), override_zone),
                key=len(series.states),
            )
        )
        series.states.append(state_of(override))
    return series


def _build_remote_calendar(
    master: RemoteEvent, series: _RemoteSeries
) -> tuple[icalendar.Calendar, dict[dt.datetime, InstanceState]]:
    """The series as an iCalendar object and the override states by recurrence id.

    Cancelled overrides become EXDATEs; modified ones become RECURRENCE-ID components
    that replace the instance they name.
    """
    uid = master.ical_uid or master.provider_event_id
    core = parse_recurrence_lines(master)
    core.add("UID", uid)
    core.add("DTSTART", series.start)
    core.add("DTEND", series.end)
    calendar = icalendar.Calendar()
    calendar.add_component(core)
    for exdate in series.exdates:
        core.add("EXDATE", exdate)
    states: dict[dt.datetime, InstanceState] = {}
    for modification in series.modifications:
        component = icalendar.Event()
        component.add("UID", uid)
        component.add("RECURRENCE-ID", modification.recurrence_id)
        component.add("DTSTART", modification.start)
        component.add("DTEND", modification.end)
        calendar.add_component(component)
        states[to_recurrence_ids(modification.recurrence_id)[0]] = series.states[
            cast(int, modification.key)
        ]
    return calendar, states


def _expand_remote_series(
    master: RemoteEvent,
    overrides: list[RemoteEvent],
    window: Window,
    account_zone: ZoneInfo,
) -> list[OccurrenceSpan]:
    """The simple shape (one RRULE…) through dateutil directly (simple_series), anything
    else through recurring-ical-events; both from the same ``_RemoteSeries``."""
    validated_recurrence(master)
    series = _remote_series(master, overrides, account_zone)
    master_state = state_of(master)
    spans = [single_span(o, account_zone) for o in series.unmatched if o.status != "cancelled"]
    rule = simple_rule(tuple(master.recurrence))
    simple = None
    if rule is not None:
        simple = simple_occurrences(
            series.start,
            series.end,
            rule,
            series.exdates,
            series.modifications,
            window,
            master.provider_event_id,
        )
    if simple is not None:
        for found in simple:
            state = master_state if found.key is None else series.states[cast(int, found.key)]
            if not state.cancelled:
                spans.append(make_span(found.start, found.end, state, account_zone, account_zone))
        return spans
    calendar, override_states = _build_remote_calendar(master, series)
    for occurrence in bounded_occurrences(calendar, window, master.provider_event_id):
        recurrence_ids = occurrence.recurrence_ids
        state = master_state
        if recurrence_ids:
            state = override_states.get(recurrence_ids[0], master_state)
        if not state.cancelled:
            spans.append(
                make_span(occurrence.start, occurrence.end, state, account_zone, account_zone)
            )
    return spans


# ---------------------------------------------------------------------------
# Series from iCalendar text (CalDAV)
# ---------------------------------------------------------------------------


def _parse_ical_text(event: RemoteEvent) -> icalendar.Calendar:
    parsed = event.extra.get("icalendar")  # the adapter's own parse, when still in memory
    if not isinstance(parsed, icalendar.Calendar):
        try:
            parsed = icalendar.Calendar.from_ical(event.ical or "")
        except ValueError as error:
            raise InvalidSeries(
                f"{event.provider_event_id}: unparsable iCalendar: {error}"
            ) from error
    if isinstance(parsed, icalendar.Event):
        calendar = icalendar.Calendar()
        calendar.add_component(parsed)
        parsed = calendar
    if not isinstance(parsed, icalendar.Calendar) or not parsed.walk("VEVENT"):
        raise InvalidSeries(f"{event.provider_event_id}: iCalendar text holds no VEVENT")
    for component in _vevents(parsed):
        raise_for_broken_properties(component, event.provider_event_id)
        _drop_default_rscale(component)
        if "DTSTART" not in component:
            raise InvalidSeries(f"{event.provider_event_id}: VEVENT without DTSTART")
    return parsed


def _drop_default_rscale(component: icalendar.Event) -> None:
    """RFC 7529: ``RSCALE=GREGORIAN`` with ``SKIP=OMIT`` (the default) is a plain RRULE.

    The expander knows no RSCALE at all; other calendar scales and ``SKIP=FORWARD`` or
    ``BACKWARD`` stay, and make the series fail to expand (logged once per etag).
    """
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        scale = [str(value).upper() for value in rule.get("RSCALE", [])]
        skip = [str(value).upper() for value in rule.get("SKIP", ["OMIT"])]
        if scale == ["GREGORIAN"] and skip == ["OMIT"]:
            rule.pop("RSCALE", None)
            rule.pop("SKIP", None)


def _vevents(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    """The calendar's VEVENTs (icalendar's parser makes each one an ``icalendar.Event``)."""
    return cast(list[icalendar.Event], calendar.walk("VEVENT"))


def _ical_state(component: icalendar.Event, item: RemoteEvent) -> InstanceState:
    """The instance's own STATUS/TRANSP; the member's reply comes from the adapter: the
    override's own (``instance_participation``), else the master's."""
    status = str(component.get("STATUS", "CONFIRMED")).lower()
    transparency = str(component.get("TRANSP", "OPAQUE")).lower()
    reply = item.participation_status
    recurrence_id = getattr(component.get("RECURRENCE-ID"), "dt", None)
    if isinstance(recurrence_id, dt.date) and item.instance_participation:
        reply = item.instance_participation.get(_instance_key(recurrence_id), reply)
    return InstanceState(
        source_event_id=item.provider_event_id,
        cancelled=status == "cancelled",
        free_busy_status=free_busy(status, transparency, reply),
    )


def _instance_key(value: dt.date) -> str:
    """A RECURRENCE-ID as ``RemoteEvent.instance_participation`` keys it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(_UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _single_vevent(ical_text: str) -> bool:
    """One VEVENT with no recurrence at all: nothing for the recurrence engine to do.

    Only the VEVENT is searched: VTIMEZONE blocks carry RRULEs of their own.
    """
    if ical_text.count("BEGIN:VEVENT") != 1:
        return False
    vevent = ical_text[ical_text.index("BEGIN:VEVENT") : ical_text.find("END:VEVENT")]
    return not any(marker in vevent for marker in ("RRULE", "RDATE", "RECURRENCE-ID"))


def _expand_ical_text(
    item: RemoteEvent, window: Window, account_zone: ZoneInfo
) -> list[OccurrenceSpan]:
    calendar = _parse_ical_text(item)
    events = _vevents(calendar)
    floating_zone = _floating_zone(calendar, events, item) or account_zone
    if not any("RRULE" in event or "RDATE" in event for event in events):
        return _spans_of_plain_components(events, item, floating_zone, account_zone)

    states: dict[tuple[str, dt.datetime | None], InstanceState] = {}
    durations: dict[tuple[str, dt.datetime | None], dt.timedelta] = {}
    for component in events:
        recurrence_id = component.get("RECURRENCE-ID")
        key = to_recurrence_ids(recurrence_id.dt)[0] if recurrence_id is not None else None
        states[(str(component.get("UID", "")), key)] = _ical_state(component, item)
        duration = _duration_of(component)
        if duration is not None:
            durations[(str(component.get("UID", "")), key)] = duration

    spans: list[OccurrenceSpan] = []
    for uid, key, start, end in _ical_occurrences(calendar, events, window, item):
        state = states.get((uid, key)) or states.get((uid, None))
        if state is None:
            state = InstanceState(item.provider_event_id, False, free_busy_status(item))
        duration = durations.get((uid, key), durations.get((uid, None)))
        if (uid, key) in states and (uid, key) not in durations:
            duration = None  # the override has a DTEND of its own
        end = end if duration is None else exact_end(start, duration)
        if not state.cancelled:
            spans.append(make_span(start, end, state, floating_zone, account_zone))
    return spans


def _ical_occurrences(
    calendar: icalendar.Calendar, events: list[icalendar.Event], window: Window, item: RemoteEvent
) -> list[tuple[str, dt.datetime | None, dt.date | dt.datetime, dt.date | dt.datetime]]:
    """(uid, UTC recurrence id or None, start, end) of each occurrence: the simple shape
    through simple_series, anything else through recurring-ical-events."""
    series = simple_ical_series(calendar, events)
    if series is not None:
        found = simple_occurrences(
            series.start,
            series.end,
            series.rule,
            (),
            series.modifications,
            window,
            item.provider_event_id,
        )
        if found is not None:
            return [(series.uid, cast("dt.datetime | None", o.key), o.start, o.end) for o in found]
    return [
        (o.uid, o.recurrence_ids[0] if o.recurrence_ids else None, o.start, o.end)
        for o in bounded_occurrences(calendar, window, item.provider_event_id)
    ]


def _duration_of(component: icalendar.Event) -> dt.timedelta | None:
    """The component's DURATION when it gives one instead of DTEND."""
    if "DTEND" in component or "DURATION" not in component:
        return None
    duration = getattr(component["DURATION"], "dt", None)
    return duration if isinstance(duration, dt.timedelta) else None


def exact_end(start: dt.date | dt.datetime, duration: dt.timedelta) -> dt.date | dt.datetime:
    """``start + duration`` as RFC 5545 §3.3.6 says: days and weeks are nominal (same wall
    clock time), hours, minutes and seconds exact (elapsed time, across DST changes).

    recurring-ical-events and icalendar add durations on the wall clock; the CalDAV
    adapter applies the same rule to single events.
    """
    if not isinstance(start, dt.datetime) or start.tzinfo is None or duration < dt.timedelta():
        return start + duration
    nominal = start + dt.timedelta(days=duration.days)
    elapsed = duration - dt.timedelta(days=duration.days)
    return (nominal.astimezone(_UTC) + elapsed).astimezone(start.tzinfo)


def _floating_zone(
    calendar: icalendar.Calendar, events: list[icalendar.Event], item: RemoteEvent
) -> ZoneInfo | None:
    """Where floating times are: the calendar's zone, the same rule the adapter applies to
    single events (``X-WR-TIMEZONE``, else the zone the adapter gave a floating master as
    its ``tzid``, i.e. the collection's ``calendar-timezone``); None: the account's."""
    zone = zone_or_none(str(calendar.get("X-WR-TIMEZONE", "")))
    if zone is not None:
        return zone
    master = next((event for event in events if "RECURRENCE-ID" not in event), None)
    start = getattr(master.get("DTSTART"), "dt", None) if master is not None else None
    if isinstance(start, dt.datetime) and start.tzinfo is None:
        return zone_or_none(item.tzid)
    return None


def _spans_of_plain_components(
    events: list[icalendar.Event],
    item: RemoteEvent,
    floating_zone: dt.tzinfo,
    account_zone: dt.tzinfo,
) -> list[OccurrenceSpan]:
    """Non-recurring VEVENTs map straight to spans, without the RRULE engine."""
    spans = []
    for component in events:
        state = _ical_state(component, item)
        if state.cancelled:
            continue
        try:
            start, end = component.start, component.end
        except (ValueError, icalendar.IncompleteComponent) as error:
            raise InvalidSeries(f"{item.provider_event_id}: {error}") from error
        duration = _duration_of(component)
        if duration is not None:
            end = exact_end(start, duration)
        spans.append(make_span(start, end, state, floating_zone, account_zone))
    return spans
