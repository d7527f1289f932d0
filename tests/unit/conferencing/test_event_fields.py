"""How an upsert's attendees, reminders, URL, colour, privacy, coordinates and recurrence
are stored: checked against what the adapter declares, merged with earlier upserts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.base import RECURRENCE_FREQUENCIES, EventWriteSupport
from syncd.conferencing.event_fields import merge_fields
from syncd.errors import FieldErrors

EVERYTHING = EventWriteSupport(
    attendees=True,
    reminders=5,
    url=True,
    color=True,
    private=True,
    geo=True,
    recurrence=frozenset(RECURRENCE_FREQUENCIES),
    recurrence_by_day=True,
)
NOTHING = EventWriteSupport()
START = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
WHEN = (START, "Europe/Berlin")


def merged(
    given: dict[str, Any],
    previous: dict[str, Any] | None = None,
    support: EventWriteSupport = EVERYTHING,
    when: tuple[dt.datetime | dt.date, str] = WHEN,
) -> tuple[dict[str, Any], dict[str, Any]]:
    problems = FieldErrors()
    fields = merge_fields(support, given, previous or {}, previous is not None, when, problems)
    return fields, problems.errors


def test_invited_people_are_stored_with_their_names() -> None:
    fields, errors = merged({"attendees": {"invite": [{"email": "a@x.com", "display_name": "A"}]}})
    assert errors == {}
    assert fields["attendees"] == [{"email": "a@x.com", "display_name": "A"}]


def test_an_upsert_without_attendees_keeps_those_invited_before() -> None:
    before, _ = merged({"attendees": {"invite": [{"email": "a@x.com"}]}})
    after, _ = merged({}, previous=before)
    assert after["attendees"] == [{"email": "a@x.com", "display_name": ""}]


def test_remove_takes_an_attendee_off_by_email_in_any_case() -> None:
    before, _ = merged({"attendees": {"invite": [{"email": "a@x.com"}, {"email": "b@x.com"}]}})
    after, _ = merged({"attendees": {"remove": [{"email": "B@X.com"}]}}, previous=before)
    assert [person["email"] for person in after["attendees"]] == ["a@x.com"]


def test_inviting_someone_twice_lists_them_once() -> None:
    before, _ = merged({"attendees": {"invite": [{"email": "a@x.com"}]}})
    after, _ = merged(
        {"attendees": {"invite": [{"email": "A@x.com", "display_name": "A"}]}}, before
    )
    assert after["attendees"] == [{"email": "A@x.com", "display_name": "A"}]


def test_attendees_on_a_provider_without_them_are_refused_naming_the_field() -> None:
    _, errors = merged({"attendees": {"invite": [{"email": "a@x.com"}]}}, support=NOTHING)
    assert errors["attendees.invite"][0]["key"] == "errors.not_supported"


def test_a_weekly_rule_becomes_an_rrule() -> None:
    rule = {"frequency": "weekly", "interval": 2, "by_day": ["monday", "wednesday"], "count": 4}
    fields, errors = merged({"recurrence": {"rules": [rule]}})
    assert errors == {}
    assert fields["recurrence"] == ["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4"]


def test_until_as_a_date_ends_the_series_at_the_end_of_that_day_in_the_events_zone() -> None:
    fields, _ = merged({"recurrence": {"rules": [{"frequency": "daily", "until": "2030-01-10"}]}})
    assert fields["recurrence"] == ["RRULE:FREQ=DAILY;UNTIL=20300110T225959Z"]


def test_until_of_an_all_day_series_is_a_date() -> None:
    when = (dt.date(2030, 1, 7), "Etc/UTC")
    rule = {"frequency": "daily", "until": "2030-01-10T12:00:00Z"}
    fields, _ = merged({"recurrence": {"rules": [rule]}}, when=when)
    assert fields["recurrence"] == ["RRULE:FREQ=DAILY;UNTIL=20300110"]


def test_an_empty_rule_list_removes_the_recurrence_and_a_missing_one_keeps_it() -> None:
    before, _ = merged({"recurrence": {"rules": [{"frequency": "daily"}]}})
    kept, _ = merged({}, previous=before)
    removed, _ = merged({"recurrence": {"rules": []}}, previous=before)
    assert kept["recurrence"] == ["RRULE:FREQ=DAILY"]
    assert removed["recurrence"] == []


def test_count_and_until_together_are_refused() -> None:
    rule = {"frequency": "daily", "count": 3, "until": "2030-02-01"}
    _, errors = merged({"recurrence": {"rules": [rule]}})
    assert errors["recurrence.rules[0].until"][0]["key"] == "errors.invalid"


def test_by_day_on_a_monthly_rule_is_refused() -> None:
    rule = {"frequency": "monthly", "by_day": ["monday"]}
    _, errors = merged({"recurrence": {"rules": [rule]}})
    assert errors["recurrence.rules[0].by_day"][0]["key"] == "errors.invalid"


def test_a_frequency_the_provider_cannot_write_is_refused() -> None:
    support = EventWriteSupport(recurrence=frozenset({"daily", "weekly"}))
    _, errors = merged({"recurrence": {"rules": [{"frequency": "yearly"}]}}, support=support)
    assert errors["recurrence.rules[0].frequency"][0]["key"] == "errors.not_supported"


def test_two_rules_are_refused() -> None:
    rules = [{"frequency": "daily"}, {"frequency": "weekly"}]
    _, errors = merged({"recurrence": {"rules": rules}})
    assert errors["recurrence.rules"][0]["key"] == "errors.too_many"


def test_until_before_the_start_is_refused() -> None:
    _, errors = merged({"recurrence": {"rules": [{"frequency": "daily", "until": "2029-12-01"}]}})
    assert errors["recurrence.rules[0].until"][0]["key"] == "errors.invalid_time_pair"


def test_a_single_reminder_provider_keeps_the_first_in_priority_order() -> None:
    support = EventWriteSupport(reminders=1)
    fields, errors = merged({"reminders": [{"minutes": 30}, {"minutes": 5}]}, support=support)
    assert errors == {}
    assert fields["reminders"] == [30]


def test_reminders_create_only_leaves_an_existing_events_reminders() -> None:
    before, _ = merged({"reminders": [{"minutes": 10}]})
    after, _ = merged(
        {"reminders": [{"minutes": 60}], "reminders_create_only": True}, previous=before
    )
    assert after["reminders"] == [10]


def test_reminders_on_a_provider_without_them_are_refused() -> None:
    _, errors = merged({"reminders": [{"minutes": 10}]}, support=NOTHING)
    assert errors["reminders"][0]["key"] == "errors.not_supported"


def test_url_null_removes_the_url() -> None:
    before, _ = merged({"url": "https://example.com/booking/1"})
    after, _ = merged({"url": None}, previous=before)
    assert before["url"] == "https://example.com/booking/1"
    assert after["url"] is None


def test_url_colour_and_privacy_are_refused_where_the_provider_has_none() -> None:
    given = {"url": "https://example.com", "color": "#49BED8", "event_private": True}
    _, errors = merged(given, support=NOTHING)
    assert {field: entries[0]["key"] for field, entries in errors.items()} == {
        "url": "errors.not_supported",
        "color": "errors.not_supported",
        "event_private": "errors.not_supported",
    }


def test_coordinates_are_stored_as_numbers() -> None:
    fields, _ = merged({"location": {"description": "HQ", "lat": 51.5, "long": -0.12}})
    assert fields["geo"] == [51.5, -0.12]


def test_a_latitude_without_a_longitude_is_refused() -> None:
    _, errors = merged({"location": {"lat": 51.5}})
    assert errors["location.long"][0]["key"] == "errors.required"


def test_coordinates_on_a_provider_without_them_are_refused() -> None:
    _, errors = merged({"location": {"lat": 51.5, "long": 0.1}}, support=NOTHING)
    assert errors["location.lat"][0]["key"] == "errors.not_supported"


def test_the_same_request_twice_gives_the_same_stored_fields() -> None:
    given = {
        "attendees": {"invite": [{"email": "a@x.com"}]},
        "recurrence": {"rules": [{"frequency": "weekly"}]},
        "reminders": [{"minutes": 15}],
    }
    first, _ = merged(given)
    second, _ = merged(given, previous=first)
    assert first == second
