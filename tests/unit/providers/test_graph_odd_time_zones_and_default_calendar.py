"""Issue 15, defect 11: odd Graph time zone names, and ``/me/calendars`` without a default.

Real shapes relied on (the Graph emulator serves them by default):

* ``start.timeZone``/``originalStartTimeZone`` values outside IANA and the Windows ids:
  the Graph ``event`` resource documents ``tzone://Microsoft/Custom`` ("a legacy custom
  time zone was set in desktop Outlook"; added in microsoftgraph/microsoft-graph-docs PR
  #812), MicrosoftDocs/azure-docs #39454 reports "Customized Time Zone", and
  phw198/OutlookGoogleCalendarSync #2148 "time zone tzone://Microsoft/Custom not found";
  "Coordinated Universal Time" is the Windows display name of UTC. With ``Prefer:
  outlook.timezone="UTC"`` (which the adapter always sends) the ``dateTime`` values are
  UTC whatever the label says;
* ``isDefaultCalendar`` missing from ``/me/calendars`` entries, while ``GET /me/calendar``
  (Graph's "get the user's default calendar") names the default one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from providers.base import RemoteCalendar
from providers.microsoft import MicrosoftProvider
from providers.microsoft.mapping import event_from_graph
from tests.emulators.graph import GraphEmulator

CALENDAR_ID = "AAMkAGcalendar-primary"
SOON = dt.date.today() + dt.timedelta(days=7)


@pytest.fixture
def emulator(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.add_calendar("AAMkAGcalendar-other", name="Birthdays")
    graph_emulator.add_calendar(CALENDAR_ID, name="Calendar", default=True)
    graph_emulator.add_calendar("AAMkAGcalendar-work", name="Work")
    return graph_emulator


@pytest.fixture
def provider(emulator: GraphEmulator, microsoft_provider_factory: Any) -> MicrosoftProvider:
    provider: MicrosoftProvider = microsoft_provider_factory()
    return provider


def calendar() -> RemoteCalendar:
    return RemoteCalendar(provider_calendar_id=CALENDAR_ID, name="Calendar", primary=True)


def written_in(zone: str, event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "subject": zone,
        "start": {"dateTime": f"{SOON.isoformat()}T10:00:00", "timeZone": zone},
        "end": {"dateTime": f"{SOON.isoformat()}T11:00:00", "timeZone": zone},
    }


@pytest.mark.parametrize(
    ("zone", "utc_start", "tzid"),
    [
        # The emulator's mailbox defines its legacy custom zone as Asia/Kolkata (+05:30).
        ("Customized Time Zone", dt.time(4, 30), None),
        ("tzone://Microsoft/Custom", dt.time(4, 30), None),
        ("Coordinated Universal Time", dt.time(10, 0), "UTC"),
    ],
)
def test_times_labelled_with_an_odd_zone_are_read_as_the_utc_asked_for(
    emulator: GraphEmulator, provider: MicrosoftProvider, zone: str, utc_start: dt.time, tzid: str
) -> None:
    emulator.put_event(CALENDAR_ID, written_in(zone, "AAMkAGodd"))

    pages = list(provider.sync_events(calendar(), None))

    assert sum(page.skipped for page in pages) == 0
    (event,) = [e for page in pages for e in page.upserts]
    assert event.start == dt.datetime.combine(SOON, utc_start, dt.UTC)
    assert event.end == event.start + dt.timedelta(hours=1)
    assert event.tzid == tzid  # originalStartTimeZone is only a hint


def test_the_emulator_labels_converted_times_with_the_odd_zone(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.put_event(CALENDAR_ID, written_in("Customized Time Zone", "AAMkAGodd"))

    served = provider._get(
        f"me/calendars/{CALENDAR_ID}/events/AAMkAGodd", prefer='outlook.timezone="UTC"'
    )

    assert served["start"] == {
        "dateTime": f"{SOON.isoformat()}T04:30:00.0000000",
        "timeZone": "Customized Time Zone",
    }
    assert served["originalStartTimeZone"] == "Customized Time Zone"


def test_the_emulator_lists_calendars_without_is_default_calendar(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    entries = provider._get("me/calendars")["value"]

    assert len(entries) == 3
    assert all("isDefaultCalendar" not in entry for entry in entries)
    assert provider._get("me/calendar")["id"] == CALENDAR_ID


def test_the_calendar_me_calendar_names_is_the_primary(provider: MicrosoftProvider) -> None:
    calendars = {c.provider_calendar_id: c for c in provider.list_calendars()}

    assert [cid for cid, c in calendars.items() if c.primary] == [CALENDAR_ID]
    assert calendars[CALENDAR_ID].name == "Calendar"


def test_listed_default_flags_need_no_second_request(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.list_default_flag = True

    primaries = [c.provider_calendar_id for c in provider.list_calendars() if c.primary]

    assert primaries == [CALENDAR_ID]
    assert emulator.requests_to("/me/calendar") == []


def test_no_default_anywhere_leaves_every_calendar_secondary(
    graph_emulator: GraphEmulator, microsoft_provider_factory: Any
) -> None:
    graph_emulator.add_calendar("AAMkAGcalendar-only", name="Only")
    provider: MicrosoftProvider = microsoft_provider_factory()

    (only,) = provider.list_calendars()

    assert not only.primary


@pytest.mark.parametrize("label", ["UTC", "tzone://Microsoft/Custom", "Customized Time Zone"])
def test_utc_and_unknown_labels_give_times_in_datetime_utc(label: str) -> None:
    item = {
        "id": "AAMkAGutc",
        "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": label},
        "end": {"dateTime": "2026-03-02T10:00:00.0000000", "timeZone": label},
    }
    event = event_from_graph(item)
    assert event.start == dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert event.start.tzinfo is dt.UTC  # type: ignore[union-attr]
    assert event.end.tzinfo is dt.UTC  # type: ignore[union-attr]


def test_a_known_zone_label_is_still_honoured() -> None:
    item = {
        "id": "AAMkAGberlin",
        "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin"},
    }
    event = event_from_graph(item)
    assert event.start == dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    assert event.end == dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
