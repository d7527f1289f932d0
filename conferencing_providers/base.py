"""The contract every conferencing adapter implements.

A conferencing adapter creates, moves and deletes one meeting per managed event. It is
built from one conferencing profile's decrypted credentials (empty for 8x8 and
explicit details) and never touches the database: ``syncd.conferencing`` persists the
meeting id *before* the event is written, so a crash never makes a second meeting.

Zoom and GoTo have no idempotency keys, so every meeting carries a ``tag`` (our id for
the managed event) and ``find_meeting(tag)`` looks it up: a crash between the provider's
"created" and our commit is recovered by reusing the meeting, not by making another.

Errors are the calendar providers' (``providers.base``): ``AuthRevoked`` marks the
conferencing profile disconnected (calendar sync is untouched), ``RateLimited`` and
``TransientError`` are retried, anything else fails the conferencing for good.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from providers.base import (
    AuthRevoked,
    Conferencing,
    OAuthClient,
    PermissionDenied,
    ProviderEndpoints,
    ProviderError,
    RateLimited,
    TransientError,
)
from retry_policy import parse_retry_after

log = logging.getLogger(__name__)

__all__ = [
    "Conferencing",
    "ConferencingProvider",
    "MeetingRequest",
    "OAuthConferencingProvider",
]


@dataclass(frozen=True)
class MeetingRequest:
    """What a meeting is for: the managed event's summary and times, and our tag."""

    tag: str
    summary: str
    start: dt.datetime
    end: dt.datetime
    tzid: str = "Etc/UTC"
    #: ``explicit`` only: the caller's own join details.
    provider_description: str | None = None
    join_url: str | None = None
    #: An unguessable value (128 random bits or more) kept with the event across
    #: attempts: an adapter whose meeting is only a name (8x8) derives the name from it,
    #: so a retried attempt makes the same meeting. Empty: every call makes a new one.
    secret: str = ""


class ConferencingProvider(ABC):
    """A conferencing adapter, registered under ``syncd.conferencing_providers`` by ``name``."""

    name: ClassVar[str]
    #: Shown to attendees as ``conferencing.provider_description``.
    description: ClassVar[str]
    #: Whether a profile needs an authorization (Zoom, GoTo, Teams, Meet) or none (8x8).
    uses_oauth: ClassVar[bool] = False
    #: Whether meetings exist at the provider (and so must be moved and deleted).
    has_remote_meetings: ClassVar[bool] = False
    #: Whether this adapter serves ``profile_id: "default"`` when the account's own choice
    #: cannot (no default, disconnected, or unable to serve the calendar): 8x8.
    is_default_fallback: ClassVar[bool] = False
    #: Whether this adapter serves ``profile_id: "explicit"``: it writes the caller's own
    #: join details (``MeetingRequest.join_url``/``provider_description``), so a changed
    #: request means a new meeting rather than a moved one.
    takes_explicit_details: ClassVar[bool] = False

    def __init__(
        self,
        credentials: dict[str, Any] | None = None,
        endpoints: ProviderEndpoints | None = None,
        oauth_client: OAuthClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = dict(credentials or {})
        self.endpoints = endpoints or ProviderEndpoints()
        self.oauth_client = oauth_client or OAuthClient()
        self.timeout = timeout

    @classmethod
    def validate_join_url(cls, url: str) -> str | None:
        """Why ``url`` cannot be a caller's join URL, or None (``takes_explicit_details``).

        The API asks this when it accepts the request, so a bad URL is a 422 at once
        instead of a failure in the daemon later.
        """
        return None

    @abstractmethod
    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        """A new meeting; ``provider_meeting_id`` identifies it for updates and deletion."""

    def find_meeting(self, tag: str) -> Conferencing | None:
        """The meeting an earlier, interrupted attempt created for ``tag``, if any."""
        return None

    def update_meeting(self, meeting_id: str, request: MeetingRequest) -> None:  # noqa: B027
        """Move or rename the meeting; optional: rooms without a provider side need nothing."""

    def delete_meeting(self, meeting_id: str) -> None:  # noqa: B027
        """Delete the meeting (already gone is fine); optional like ``update_meeting``."""

    def refreshed_credentials(self) -> dict[str, Any] | None:
        """Credentials to persist if they changed (refresh tokens rotate)."""
        return None


def meeting_duration_minutes(request: MeetingRequest) -> int:
    return max(1, int((request.end - request.start).total_seconds() // 60))


class OAuthConferencingProvider(ConferencingProvider):
    """A conferencing service reached with an OAuth grant (requests-oauthlib).

    Tokens are refreshed when they expire or the API answers 401, with HTTP Basic client
    authentication (what Zoom and GoTo require). A refresh that yields a new refresh
    token is kept in ``self.credentials`` and reported by ``refreshed_credentials`` so the
    caller stores it before anything else can fail.
    """

    uses_oauth: ClassVar[bool] = True
    has_remote_meetings: ClassVar[bool] = True
    default_api_base_url: ClassVar[str]
    default_token_url: ClassVar[str]
    default_authorize_url: ClassVar[str]
    scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        credentials: dict[str, Any] | None = None,
        endpoints: ProviderEndpoints | None = None,
        oauth_client: OAuthClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(credentials, endpoints, oauth_client, timeout)
        self._changed = False
        self.session = requests.Session()
        self.session.trust_env = False

    # -- OAuth -------------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        return (self.endpoints.api_base_url or self.default_api_base_url).rstrip("/") + "/"

    @property
    def token_url(self) -> str:
        return self.endpoints.token_url or self.default_token_url

    @classmethod
    def authorization_url(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, state: str
    ) -> str:
        """Where to send the user to grant access."""
        session = OAuth2Session(
            oauth_client.client_id,
            redirect_uri=oauth_client.redirect_uri,
            scope=list(oauth_client.scopes or cls.scopes) or None,
        )
        url, _ = session.authorization_url(
            endpoints.authorize_url or cls.default_authorize_url, state=state
        )
        return str(url)

    @classmethod
    def exchange_code(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, code: str
    ) -> dict[str, Any]:
        """Trade an authorization code for credentials to store. Raises AuthRevoked."""
        session = OAuth2Session(oauth_client.client_id, redirect_uri=oauth_client.redirect_uri)
        token = _token_call(
            lambda: session.fetch_token(
                endpoints.token_url or cls.default_token_url,
                code=code,
                auth=HTTPBasicAuth(oauth_client.client_id, oauth_client.client_secret),
                include_client_id=False,
                timeout=30,
            )
        )
        return _credentials_from_token(token)

    @classmethod
    def credentials_from_refresh_token(cls, refresh_token: str) -> dict[str, Any]:
        """Credentials for an imported grant; the access token is fetched on first use."""
        return {"refresh_token": refresh_token}

    def refreshed_credentials(self) -> dict[str, Any] | None:
        if not self._changed:
            return None
        self._changed = False
        return dict(self.credentials)

    def _refresh(self) -> None:
        refresh_token = self.credentials.get("refresh_token")
        if not refresh_token:
            raise AuthRevoked(f"{self.name}: no refresh token stored")
        session = OAuth2Session(self.oauth_client.client_id)
        token = _token_call(
            lambda: session.refresh_token(
                self.token_url,
                refresh_token=refresh_token,
                auth=HTTPBasicAuth(self.oauth_client.client_id, self.oauth_client.client_secret),
                timeout=self.timeout,
            )
        )
        fresh = _credentials_from_token(token)
        # Providers that do not rotate answer without a refresh token: keep the old one.
        fresh["refresh_token"] = fresh.get("refresh_token") or refresh_token
        self.credentials.update(fresh)
        self._changed = True

    def _access_token(self) -> str:
        expires_at = float(self.credentials.get("expires_at") or 0)
        if not self.credentials.get("access_token") or expires_at < time.time() + 30:
            self._refresh()
        return str(self.credentials["access_token"])

    # -- HTTP --------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One API call with a fresh token; a 401 refreshes once and retries."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self.is_expired_token(response):
            self._refresh()
            response = self._send(method, path, **kwargs)
        error = self.error_for(response)
        if error is not None:
            raise error
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        try:
            return self.session.request(
                method, self.api_base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise TransientError(f"{self.name}: network failure ({type(exc).__name__})") from exc

    def is_expired_token(self, response: requests.Response) -> bool:
        """Whether a 401 means "refresh and try again" (rather than "revoked")."""
        return True

    def error_for(self, response: requests.Response) -> ProviderError | None:
        """The shared error for an HTTP failure; the one place statuses get a meaning."""
        status = response.status_code
        if status < 400:
            return None
        if status == 401:
            return AuthRevoked(f"{self.name} refused the access token")
        if status == 429:
            return RateLimited(
                f"{self.name} rate limited",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status == 403:
            return PermissionDenied(f"{self.name} forbade the request")
        if status >= 500:
            return TransientError(f"{self.name} server error {status}")
        return ProviderError(f"{self.name} answered {status}: {response.text[:200]}")


def _token_call(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except InvalidGrantError as exc:
        raise AuthRevoked("the grant was revoked or has expired (invalid_grant)") from exc
    except OAuth2Error as exc:
        if exc.status_code and exc.status_code >= 500:
            raise TransientError(f"token endpoint failed ({exc.status_code})") from exc
        raise AuthRevoked(f"the token endpoint refused ({exc.error})") from exc
    except requests.RequestException as exc:
        raise TransientError(f"network failure at the token endpoint: {exc}") from exc


def _credentials_from_token(token: dict[str, Any]) -> dict[str, Any]:
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in") is not None:
        expires_at = time.time() + float(token["expires_in"])
    return {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": float(expires_at) if expires_at is not None else None,
    }
