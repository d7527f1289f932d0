"""Microsoft identity: msal applications, token requests and the TLS trust they use."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from providers.base import (
    OAuthClient,
    ProviderEndpoints,
    TransientError,
)
from providers.microsoft.errors import token_error

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
#: Scopes asked for; msal adds the reserved ``offline_access openid profile`` itself (and
#: refuses them in its argument), so ``offline_access`` is always part of the request.
SCOPES = ("Calendars.ReadWrite", "User.Read", "OnlineMeetings.ReadWrite")
#: PEM bundle trusted for the authority and Graph instead of the system store.
CA_BUNDLE_ENV = "SYNCD_MICROSOFT_CA_BUNDLE"


def http_session(ca_bundle: str | None) -> requests.Session:
    """A requests session trusting ``ca_bundle`` alone when one is configured."""
    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
        session.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy must not override it
    return session


def _authority(endpoints: ProviderEndpoints) -> str:
    """The msal authority (``https://host/tenant``) behind the configured token URLs."""
    for url in (endpoints.token_url, endpoints.authorize_url):
        if url:
            parts = urlsplit(url)
            tenant = parts.path.strip("/").split("/")[0]
            if tenant:
                return f"{parts.scheme}://{parts.netloc}/{tenant}"
    return DEFAULT_AUTHORITY


def msal_app(
    oauth_client: OAuthClient, endpoints: ProviderEndpoints, timeout: float
) -> msal.ConfidentialClientApplication:
    authority = _authority(endpoints)
    well_known = urlsplit(authority).hostname in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
    options: dict[str, Any] = {}
    if not well_known:
        # An operator-chosen authority (a sovereign cloud, the local test authority):
        # there is nothing at Microsoft to validate it against.
        options.update(instance_discovery=False, validate_authority=False)
    try:
        return msal.ConfidentialClientApplication(
            oauth_client.client_id,
            client_credential=oauth_client.client_secret or None,
            authority=authority,
            http_client=http_session(os.environ.get(CA_BUNDLE_ENV)),
            timeout=timeout,
            **options,
        )
    except (ValueError, RuntimeError, requests.RequestException) as exc:
        raise TransientError(f"Microsoft authority discovery failed: {type(exc).__name__}") from exc


def call_msal(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one msal token request; transport failures and 5xx become TransientError."""
    try:
        result = call()
    except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as exc:
        raise TransientError(f"Microsoft token request failed: {type(exc).__name__}") from exc
    if not isinstance(result, dict) or "error" in result or "access_token" not in result:
        raise token_error(result if isinstance(result, dict) else {})
    return result


def credentials_from_token(result: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    expires_in = float(result.get("expires_in") or 3600)
    credentials = dict(previous)
    credentials.update(
        access_token=result["access_token"],
        refresh_token=result.get("refresh_token") or previous.get("refresh_token"),
        expiry=(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)).isoformat(),
    )
    claims = result.get("id_token_claims")
    if isinstance(claims, dict) and isinstance(claims.get("tid"), str):
        credentials["tenant_id"] = claims["tid"]  # personal or work account (adapter)
    return credentials


def parse_expiry(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
