"""One run of the hosted "connect a calendar service" flow, from page to page.

Three purposes share it: ``authorize`` (an application sent the person to
``/oauth/authorize``; it ends with a redirect to the application carrying a code),
``add`` (the person adds a calendar service from their Calendar Services page) and
``relink`` (``profile_relink_url``: reconnect one profile). Its state travels in the
pages' URLs and forms as a :class:`Flow` encrypted with the store's key ring (Fernet
authenticates it, so it cannot be altered) with an expiry; nothing is stored until a
calendar service is connected.

Checks follow RFC 6749 §4.1.2.1: a request whose ``client_id`` is unknown or whose
``redirect_uri`` is not exactly one the application registered gets an error page
(:class:`~syncd.errors.AuthorizationError`), never a redirect; every other problem
(``response_type``, ``scope``, PKCE) is sent back to the application as
``error=…&state=…`` (:class:`~syncd.errors.OAuthError`).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlmodel import Session

from syncd.errors import AuthorizationError, OAuthError, SecretBoxError
from syncd.store.crypto import SecretBox
from syncd.store.models import Account, Application
from syncd.store.oauth import checked_code_challenge, issue_code, normalised_scope
from syncd.store.tenants import application_for_client_id

#: Seconds a flow stays usable (signing in, a provider's consent screen, typing a password).
FLOW_TTL_SECONDS = 1800
AUTHORIZE, ADD, RELINK = "authorize", "add", "relink"
#: Longest ``state`` accepted (it travels in URLs).
MAX_STATE_LENGTH = 2000


@dataclass(frozen=True)
class Flow:
    """What the flow is for and where it ends."""

    purpose: str
    application_id: str
    #: authorize: the application's redirect URI, scope, state, PKCE challenge.
    redirect_uri: str = ""
    scope: str = ""
    state: str | None = None
    code_challenge: str | None = None
    #: Cronofy's ``provider_name`` as given (a hint for which service to offer first).
    provider_hint: str = ""
    #: Cronofy's ``avoid_linking``: never continue as whoever is signed in already.
    avoid_linking: bool = False
    #: add / relink: whose flow it is; relink: which profile.
    account_id: str | None = None
    profile_id: str | None = None
    #: The calendar service chosen (a key of ``syncd.sync.connect.SERVICES``), while its
    #: provider's consent screen is open.
    service: str = ""
    expires_at: float = 0.0
    nonce: str = ""

    def seal(self, box: SecretBox) -> str:
        return box.encrypt(dataclasses.asdict(self))

    @classmethod
    def open(cls, box: SecretBox, token: str) -> Flow:
        """The flow a token carries; an expired or forged one is an AuthorizationError."""
        try:
            fields = box.decrypt(token)
            flow = cls(**fields)
        except (SecretBoxError, TypeError, ValueError):
            raise AuthorizationError(
                "this link is not valid: start again from the application or from your "
                "Calendar Services page"
            ) from None
        if flow.expires_at < time.time():
            where = (
                "the application" if flow.purpose == AUTHORIZE else "your Calendar Services page"
            )
            raise AuthorizationError(f"this link has expired: start again from {where}")
        return flow


def _new(**fields: Any) -> Flow:
    return Flow(expires_at=time.time() + FLOW_TTL_SECONDS, nonce=secrets.token_urlsafe(8), **fields)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def authorization_request(session: Session, query: Mapping[str, str]) -> Flow:
    """The flow for a ``GET /oauth/authorize`` query, after RFC 6749's checks."""
    application = _client(session, query.get("client_id", ""))
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri:
        raise AuthorizationError("the request has no redirect_uri", code="invalid_redirect_uri")
    if redirect_uri not in application.redirect_uris:
        raise AuthorizationError(
            f"{redirect_uri!r} is not a redirect URI registered for {application.name}",
            code="invalid_redirect_uri",
        )
    state = query.get("state") or None
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise OAuthError("invalid_request", f"state is longer than {MAX_STATE_LENGTH} characters")
    # From here on, problems go back to the application (RFC 6749 §4.1.2.1).
    failing = _new(
        purpose=AUTHORIZE, application_id=application.id, redirect_uri=redirect_uri, state=state
    )
    try:
        if query.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        scope = normalised_scope(query.get("scope", ""))
        challenge = checked_code_challenge(
            query.get("code_challenge") or None, query.get("code_challenge_method") or None
        )
    except OAuthError as error:
        raise RedirectWithError(failing, error) from None
    return dataclasses.replace(
        failing,
        scope=scope,
        code_challenge=challenge,
        provider_hint=(query.get("provider_name") or "").strip().lower(),
        avoid_linking=_truthy(query.get("avoid_linking")),
    )


class RedirectWithError(Exception):
    """An authorization request the application must be told about, by redirect."""

    def __init__(self, flow: Flow, error: OAuthError) -> None:
        super().__init__(error.message)
        self.flow = flow
        self.error = error

    @property
    def location(self) -> str:
        return error_redirect(self.flow, self.error.code, self.error.message)


def _client(session: Session, client_id: str) -> Application:
    application = application_for_client_id(session, client_id) if client_id else None
    if application is None:
        raise AuthorizationError(
            "the application that sent you here is not known to this server (client_id)",
            code="invalid_client",
        )
    return application


def add_flow(account: Account) -> Flow:
    """Adding a calendar service from the person's own pages."""
    return _new(purpose=ADD, application_id=account.application_id, account_id=account.id)


def relink_flow(account: Account, profile_id: str) -> Flow:
    """Reconnecting one profile (``profile_relink_url``)."""
    return _new(
        purpose=RELINK,
        application_id=account.application_id,
        account_id=account.id,
        profile_id=profile_id,
    )


def check_account(flow: Flow, account: Account) -> None:
    """Refuse a flow continued by someone it is not for: another application's account,
    or (add/relink) another account."""
    if account.application_id != flow.application_id:
        raise AuthorizationError("you are signed in to another application's account")
    if flow.account_id is not None and flow.account_id != account.id:
        raise AuthorizationError("this link is for another account: sign in as its owner")


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (RFC 6749 §3.1.2: keep what it has)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_redirect(flow: Flow, error: str, description: str | None = None) -> str:
    """Back to the application with an RFC 6749 §4.1.2.1 error."""
    return with_query(
        flow.redirect_uri,
        {"error": error, "error_description": description, "state": flow.state},
    )


def declined(flow: Flow) -> str:
    """The person said no: ``error=access_denied``."""
    return error_redirect(flow, "access_denied", "the user declined the authorization")


def approved(
    session: Session, flow: Flow, application: Application, account: Account, profile_id: str | None
) -> str:
    """The person agreed (and connected ``profile_id``): a one-time code for the app."""
    check_account(flow, account)
    if flow.purpose != AUTHORIZE:
        raise AuthorizationError("this flow does not end at an application")
    code = issue_code(
        session,
        application,
        account,
        flow.redirect_uri,
        flow.scope,
        profile_id=profile_id,
        code_challenge=flow.code_challenge,
    )
    return with_query(flow.redirect_uri, {"code": code, "state": flow.state})


def redirect_origin(flow: Flow) -> str | None:
    """The application's origin (for the pages' form-action CSP), if the flow ends there."""
    if flow.purpose != AUTHORIZE:
        return None
    parts = urlsplit(flow.redirect_uri)
    return f"{parts.scheme}://{parts.netloc}"


#: What each scope lets the application do, in words for the consent page.
SCOPE_WORDS = {
    "read_account": "see your name, email address and time zone",
    "list_calendars": "see the list of your calendars",
    "read_events": "read the events in your calendars",
    "create_event": "create and change events in your calendars",
    "delete_event": "delete events it created",
    "read_free_busy": "see when you are free or busy",
    "create_calendar": "create calendars",
    "change_participation_status": "accept or decline invitations for you",
    "read_only": "read your account, calendars, events and free/busy times",
    "read_write": "read and change your calendars and events",
}


def scope_words(scope: str) -> list[str]:
    return [SCOPE_WORDS.get(name, name) for name in scope.split()]
