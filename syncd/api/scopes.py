"""Which OAuth scope each ``/v1`` route needs when called with a scoped access token.

Cronofy's scopes, per endpoint as its documentation lists them. A route not in the
table needs ``read_events`` to read and ``create_event`` to write, so an endpoint added
later is never open to a token granted less.
"""

from __future__ import annotations

#: (method, route path) → scope.
ROUTE_SCOPES: dict[tuple[str, str], str] = {
    ("GET", "/v1/userinfo"): "read_account",
    ("GET", "/v1/account"): "read_account",
    ("GET", "/v1/profiles"): "read_account",
    ("POST", "/v1/profiles/{profile_id}/revoke"): "read_account",
    ("GET", "/v1/calendars"): "list_calendars",
    ("POST", "/v1/calendars"): "create_calendar",
    ("GET", "/v1/events"): "read_events",
    ("GET", "/v1/events/pages/{page_token}"): "read_events",
    ("POST", "/v1/calendars/{calendar_id}/events"): "create_event",
    ("DELETE", "/v1/calendars/{calendar_id}/events"): "delete_event",
    ("DELETE", "/v1/events"): "delete_event",
    (
        "POST",
        "/v1/calendars/{calendar_id}/events/{event_uid}/participation_status",
    ): "change_participation_status",
    ("GET", "/v1/free_busy"): "read_free_busy",
    ("GET", "/v1/free_busy/pages/{page_token}"): "read_free_busy",
    ("POST", "/v1/availability"): "read_free_busy",
    ("POST", "/v1/sequenced_availability"): "read_free_busy",
    ("GET", "/v1/availability_rules"): "read_free_busy",
    ("GET", "/v1/availability_rules/{availability_rule_id}"): "read_free_busy",
    ("POST", "/v1/channels"): "read_events",
    ("GET", "/v1/channels"): "read_events",
    ("DELETE", "/v1/channels/{channel_id}"): "read_events",
    ("POST", "/v1/conferencing_service_authorizations"): "create_event",
}


def required_scope(method: str, path: str) -> str:
    """The scope a scoped token needs for ``method`` on the route ``path``."""
    method = method.upper()
    if method == "HEAD":
        method = "GET"
    found = ROUTE_SCOPES.get((method, path))
    if found is not None:
        return found
    return "read_events" if method == "GET" else "create_event"
