"""The fast reader of plain CalDAV items gives exactly what the icalendar path gives.

``remote_event_from_ical`` reads a resource holding one plain VEVENT through
``providers.caldav.fastical`` and everything else through ``icalendar.Calendar.from_ical``.
These tests run both on the interoperability corpus (tests/corpus/ical) and on generated
variants of real shapes (folded lines, escaped text, parameters, alarms, X- properties,
CRLF and LF, all-day, UTC, floating and TZID times, broken lines) and require the same
RemoteEvent, or the same error, from both, and the same spans when the engine expands
it. They also check that the fast path is taken for the plain shapes (single events and
series without overrides), so a reader that silently never applies fails here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.parser.content_line import Contentline, Contentlines

from providers.base import RemoteEvent
from providers.caldav.fastical import _unfolded_lines, read_simple_item, split_line
from providers.caldav.ical import PARSED_ICALENDAR, remote_event_from_ical
from syncd.calendar.expansion import expand_series
from syncd.radicale_server import sample_event_ics

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "ical"
ME = "me@example.com"
ADDRESSES = frozenset({ME, "me"})

BERLIN_VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]
CUSTOM_VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Syncd Test Standard Time",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0330",
    "TZOFFSETTO:+0330",
    "DTSTART:16010101T000000",
    "END:STANDARD",
    "END:VTIMEZONE",
]
BROKEN_VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:not-an-offset",
    "TZOFFSETTO:+0100",
    "DTSTART:19701025T030000",
    "END:STANDARD",
    "END:VTIMEZONE",
]
ALARMS = [
    ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:Reminder", "END:VALARM"],
    [
        "BEGIN:VALARM",
        "ACTION:EMAIL",
        "TRIGGER;RELATED=END:PT0S",
        f"ATTENDEE:mailto:{ME}",
        "SUMMARY:Mail",
        "DESCRIPTION:Body",
        "END:VALARM",
    ],
    ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:garbage", "END:VALARM"],
]

START_LINES = [
    ("DTSTART;TZID=Europe/Berlin:20250310T090000", "DTEND;TZID=Europe/Berlin:20250310T100000"),
    ('DTSTART;TZID="Europe/Berlin":20250310T090000', "DTEND;TZID=Europe/Berlin:20250310T103000"),
    ("DTSTART;TZID=America/New_York:20250309T013000", "DURATION:PT2H"),
    ("DTSTART:20250310T080000Z", "DTEND:20250310T090000Z"),
    ("DTSTART:20250310T080000", "DTEND:20250310T090000"),
    ("DTSTART:20250310T080000", "DTEND:20250310T090000Z"),
    ("DTSTART;VALUE=DATE:20250310", "DTEND;VALUE=DATE:20250311"),
    ("DTSTART;VALUE=DATE:20250310", "DURATION:P2D"),
    ("DTSTART;VALUE=DATE:20250310", None),
    ("DTSTART:20250310T080000Z", None),
    ("DTSTART;TZID=Syncd Test Standard Time:20250310T090000", "DURATION:PT1H"),
    ("DTSTART;TZID=Nowhere/Unknown:20250310T090000", "DTEND;TZID=Nowhere/Unknown:20250310T1000"),
    ("dtstart;tzid=Europe/Berlin:20250310T090000", "dtend;tzid=Europe/Berlin:20250310T100000"),
    ("DTSTART:20250310T100000Z", "DTEND:20250310T090000Z"),
    ("DTSTART:2025-03-10", "DTEND:20250310T090000Z"),
    ("DTSTART;VALUE=DATE:20250310", "DTEND:20250311T000000"),
]

TEXTS = st.lists(
    st.sampled_from(list("ab Zé,;:\\\"^'nN\t€") + ["\\n", "\\,", "\\;", "\\\\"]),
    max_size=20,
).map("".join)


#: Where the differential tests expand series: around the generated and corpus items.
WINDOW = (dt.datetime(2024, 6, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))

STAMPS = st.sampled_from(["20250102T030405Z", "20250102T030405", "garbage"])


def outcome(text: str, fast: bool, default_zone: dt.tzinfo | None = None) -> Any:
    """What the adapter makes of ``text``: the event's fields (time zones included) or the
    error's type."""
    try:
        event = remote_event_from_ical(
            "/cal/item.ics", '"etag"', text, ADDRESSES, default_zone, fast_path=fast
        )
    except Exception as error:
        return ("error", type(error).__name__)
    if event is None:
        return None
    fields = dataclasses.asdict(event)
    fields.pop("extra")
    for name in ("start", "end", "updated", "original_start"):
        value = getattr(event, name)
        fields[f"{name}_type"] = (type(value).__name__, repr(getattr(value, "tzinfo", None)))
    fields["spans"] = spans(event)
    return fields


def spans(event: RemoteEvent) -> Any:
    """The spans the engine stores for the item (a series from what the adapter kept of
    its parse), or the error's type."""
    try:
        return expand_series(event, [], *WINDOW, "Europe/Berlin")
    except Exception as error:
        return ("error", type(error).__name__)


def assert_same(text: str, default_zone: dt.tzinfo | None = None) -> None:
    slow = outcome(text, fast=False, default_zone=default_zone)
    assert outcome(text, fast=True, default_zone=default_zone) == slow


def item(event_lines: list[str], before: list[str] = (), header: list[str] = ()) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *header, *before]
    return "\r\n".join([*lines, "BEGIN:VEVENT", *event_lines, "END:VEVENT", "END:VCALENDAR", ""])


def plain_event(*extra: str) -> list[str]:
    return [
        "UID:plain-1@example.com",
        "DTSTAMP:20250101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20250310T090000",
        "DTEND;TZID=Europe/Berlin:20250310T100000",
        "SUMMARY:Plain",
        *extra,
    ]


@pytest.mark.parametrize(
    "path", sorted(CORPUS.rglob("*.ics")), ids=lambda p: str(p.relative_to(CORPUS))
)
def test_every_corpus_item_reads_the_same_on_both_paths(path: Path) -> None:
    text = path.read_text(encoding="utf-8").replace("%ME%", ME)
    assert_same(text)
    assert_same(text, ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    "name",
    [
        "durations/pt23h-new-york-spring.ics",
        "floating/no-zone-single.ics",
        "outlook/windows-zone-name-single.ics",
        "sabre/floating-dtstamp.ics",
    ],
)
def test_plain_corpus_items_take_the_fast_path(name: str) -> None:
    assert read_simple_item((CORPUS / name).read_text(encoding="utf-8")) is not None


def test_the_seeded_benchmark_items_take_the_fast_path_and_read_the_same() -> None:
    start = dt.datetime(2025, 3, 10, 9)
    text = sample_event_ics(
        "u1",
        "Seeded",
        start,
        start + dt.timedelta(hours=1),
        tzid="Europe/Berlin",
        location="Room 1",
        description="Line one\nline two; with, punctuation",
        attendees={ME: "ACCEPTED", "bob@example.com": "NEEDS-ACTION"},
    )
    assert read_simple_item(text) is not None
    assert_same(text)


@pytest.mark.parametrize(
    "event_lines",
    [
        plain_event("RRULE:FREQ=WEEKLY;COUNT=3"),
        plain_event("RRULE:FREQ=DAILY;UNTIL=20250320T000000Z", "EXDATE:20250312T080000Z"),
        plain_event("RDATE:20250317T090000Z"),
        plain_event("RRULE:FREQ=WEEKLY", "EXDATE;TZID=Europe/Berlin:20250317T090000"),
        plain_event("RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", "EXRULE:FREQ=WEEKLY;COUNT=2"),
        plain_event("RRULE:FREQ=WEEKLY;COUNT=3", "BEGIN:VALARM", *ALARMS[0][1:]),
    ],
    ids=["rrule", "until-exdate", "rdate", "endless-tzid-exdate", "exrule", "alarm"],
)
def test_series_without_overrides_take_the_fast_path_and_expand_the_same(
    event_lines: list[str],
) -> None:
    text = item(event_lines, before=BERLIN_VTIMEZONE)
    assert read_simple_item(text) is not None
    assert isinstance(
        remote_event_from_ical("/c/s.ics", None, text).extra[PARSED_ICALENDAR], Calendar
    )
    assert_same(text)


@pytest.mark.parametrize(
    "event_lines",
    [
        plain_event("RECURRENCE-ID:20250317T090000Z"),
        plain_event("BEGIN:VTODO", "END:VTODO"),
    ],
    ids=["recurrence-id", "nested-component"],
)
def test_overrides_and_unusual_structure_go_through_icalendar(event_lines: list[str]) -> None:
    text = item(event_lines)
    assert read_simple_item(text) is None
    assert_same(text)


@pytest.mark.parametrize(
    "text",
    [
        item(plain_event()).replace("END:VEVENT", "\r\n".join(["END:VEVENT", *BERLIN_VTIMEZONE])),
        item(plain_event()) + item(plain_event()),
        "X-COMMENT:before\r\n" + item(plain_event()),
        item(plain_event()).replace("BEGIN:VEVENT", "begin:vevent"),
        item(plain_event(), header=["DTSTART:20250101T000000Z"]),
        item(plain_event(), header=["BROKEN LINE WITHOUT COLON"]),
        item(plain_event(), before=BROKEN_VTIMEZONE),
        item([*plain_event(), *ALARMS[2]]),
    ],
    ids=[
        "vtimezone-after-event",
        "two-calendars",
        "line-before-calendar",
        "lowercase-begin",
        "calendar-level-datetime",
        "broken-calendar-line",
        "broken-vtimezone",
        "broken-alarm",
    ],
)
def test_items_the_fast_path_declines_read_as_icalendar_reads_them(text: str) -> None:
    assert read_simple_item(text) is None
    assert_same(text)


@st.composite
def variants(draw: st.DrawFn) -> str:
    """A plain item in one of the many shapes clients write."""
    start_line, end_line = draw(st.sampled_from(START_LINES))
    me_as = draw(st.sampled_from([f"mailto:{ME}", f"MAILTO:{ME.upper()}", "mailto:me"]))
    organizer_cn = draw(st.sampled_from(["Boss", '"Boss, The"']))
    organizer = draw(st.sampled_from([me_as, "mailto:boss@example.com"]))
    partstat = draw(st.sampled_from(["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION", "X"]))
    optional = [
        f"SUMMARY:{draw(TEXTS)}",
        f"SUMMARY;LANGUAGE=de:{draw(TEXTS)}",
        f"DESCRIPTION:{draw(TEXTS)}",
        f'LOCATION;ALTREP="http://example.com/room?a=1;b=2":{draw(TEXTS)}',
        f"STATUS:{draw(st.sampled_from(['CONFIRMED', 'TENTATIVE', 'CANCELLED', 'bogus']))}",
        f"TRANSP:{draw(st.sampled_from(['OPAQUE', 'TRANSPARENT', 'transparent']))}",
        f'ATTENDEE;CN="Me, Myself";PARTSTAT={partstat}:{me_as}',
        "ATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@example.com",
        "ATTENDEE;CN=Ann^'Q^' ^nNewline:mailto:ann@example.com",
        f"ORGANIZER;CN={organizer_cn}:{organizer}",
        'CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL="Join: video":https://meet.example.com/abc',
        f"LAST-MODIFIED:{draw(STAMPS)}",
        f"DTSTAMP:{draw(STAMPS)}",
        "SEQUENCE:3",
        "SEQUENCE:not-a-number",
        "CREATED:20240101T000000Z",
        "CLASS:PUBLIC",
        "CATEGORIES:Work,Travel\\,Abroad",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR;VALUE=TEXT:AUTOMATIC",
        f"X-SYNCD-TEXT:{draw(TEXTS)}",
        "X-BROKEN-PARAM;=x:value",
        "URL;VALUE=URI:https://example.com/e?x=1",
        "SUMMARY:second summary",
        "GEO:1.5;2.5",
        "GEO:not-a-geo",
        "BROKEN LINE",
        "NAME WITH SPACE:value",
        "STATUS;:empty-params",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "RRULE:FREQ=DAILY;UNTIL=20250320T000000Z",
        "RRULE:FREQ=DAILY;UNTIL=20250320",
        "RRULE:garbage",
        "EXDATE:20250317T080000Z",
        "EXDATE;TZID=Europe/Berlin:20250317T090000,20250318T090000",
        "EXDATE;VALUE=DATE:20250317",
        "RDATE:20250320T090000Z",
        "RDATE;VALUE=PERIOD:20250321T090000Z/PT2H",
        "RDATE:",
    ]
    chosen = draw(st.lists(st.sampled_from(optional), max_size=8, unique=True))
    uid = draw(st.sampled_from(["u-1@example.com", "weird\\,uid"]))
    lines = [f"UID:{uid}", start_line]
    if end_line is not None:
        lines.append(end_line)
    lines += chosen
    lines = draw(st.permutations(lines))
    if draw(st.booleans()):
        lines = [*lines, *draw(st.sampled_from(ALARMS[:2]))]
    zones = [[], BERLIN_VTIMEZONE, CUSTOM_VTIMEZONE, BERLIN_VTIMEZONE + CUSTOM_VTIMEZONE]
    before = draw(st.sampled_from(zones))
    header = draw(
        st.lists(
            st.sampled_from(
                [
                    "CALSCALE:GREGORIAN",
                    "METHOD:PUBLISH",
                    "X-WR-CALNAME:Work",
                    "X-WR-TIMEZONE:America/New_York",
                    "X-WR-TIMEZONE:Not/AZone",
                ]
            ),
            max_size=3,
            unique=True,
        )
    )
    text = item(lines, before=before, header=header)
    if draw(st.booleans()):
        text = text.replace("\r\n", "\n")
    return _fold(text, draw(st.lists(st.integers(1, 60), max_size=6)), draw(st.booleans()))


def _fold(text: str, widths: list[int], tab: bool) -> str:
    """Fold some long lines at the given widths (a client's line folding)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    folded = []
    for index, line in enumerate(text.split(newline)):
        width = widths[index % len(widths)] if widths else 0
        if width and len(line) > width + 1:
            pieces = [line[i : i + width] for i in range(0, len(line), width)]
            line = (newline + ("\t" if tab else " ")).join(pieces)
        folded.append(line)
    return newline.join(folded)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=variants(), zone=st.sampled_from([None, ZoneInfo("Europe/Berlin")]))
def test_generated_variants_read_the_same_on_both_paths(text: str, zone: ZoneInfo | None) -> None:
    assert_same(text, zone)


@settings(max_examples=100, deadline=None)
@given(summary=TEXTS, all_day=st.booleans(), lf=st.booleans())
def test_generated_plain_items_take_the_fast_path(summary: str, all_day: bool, lf: bool) -> None:
    start = ["DTSTART;VALUE=DATE:20250310"] if all_day else ["DTSTART:20250310T080000Z"]
    text = item(["UID:u@example.com", *start, f"SUMMARY:{summary.replace(chr(9), ' ')}"])
    if lf:
        text = text.replace("\r\n", "\n")
    assert read_simple_item(text) is not None
    assert_same(text)


LINE_PIECES = st.sampled_from(
    ["X", "DTSTART", "-", ";", ":", "=", '"', "\\", " ", "\t", "^", ",", "a", "1", "/", "é", "TZID"]
)


@settings(max_examples=600, deadline=None)
@given(line=st.lists(LINE_PIECES, min_size=1, max_size=14).map("".join))
def test_the_line_split_equals_icalendars_wherever_it_accepts_a_line(line: str) -> None:
    parts = split_line(line)
    if parts is None:
        return
    name, params, value = Contentline(line).parts()
    assert parts[0] == name
    assert dict(parts[1]) == dict(params)
    assert parts[2] == value


def test_the_line_split_accepts_the_common_lines() -> None:
    for line in (
        "SUMMARY:Hello",
        "DTSTART;TZID=Europe/Berlin:20250310T090000",
        "ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:a@example.com",
    ):
        assert split_line(line) is not None
        assert split_line(line)[0] == Contentline(line).parts()[0]


@settings(max_examples=600, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["A:b", "\r", "\n", " ", "\t", "\r\n", "x", ":"]), max_size=20
    ).map("".join)
)
def test_unfolding_equals_icalendars(text: str) -> None:
    assert _unfolded_lines(text) == [line for line in Contentlines.from_ical(text) if line]
