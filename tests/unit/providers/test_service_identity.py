"""Each adapter names its service as Cronofy does (``provider_name``/``provider_service``):
iCloud is ``apple``, a Microsoft work account ``office365`` and a personal one
``live_connect``, Google ``google`` (``gsuite`` for a Workspace domain); other CalDAV
servers get syncd's extension value ``caldav``."""

from __future__ import annotations

import pytest

from providers.base import ServiceIdentity
from providers.caldav import CalDAVProvider
from providers.google import GoogleProvider
from providers.microsoft import MicrosoftProvider
from providers.microsoft.auth import credentials_from_token

CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://caldav.icloud.com/", ServiceIdentity("apple", "icloud")),
        ("https://p42-caldav.icloud.com/123/calendars/", ServiceIdentity("apple", "icloud")),
        ("https://nextcloud.example.org/remote.php/dav/", ServiceIdentity("caldav", "caldav")),
        ("http://127.0.0.1:5232/", ServiceIdentity("caldav", "caldav")),
    ],
)
def test_caldav_names_icloud_apple_and_other_servers_caldav(
    url: str, expected: ServiceIdentity
) -> None:
    provider = CalDAVProvider({"url": url, "username": "u", "password": "p"})
    assert provider.service_identity() == expected


@pytest.mark.parametrize(
    ("email", "service"),
    [("ada@gmail.com", "google"), ("ada@googlemail.com", "google"), ("ada@acme.com", "gsuite")],
)
def test_google_is_google_with_gsuite_for_workspace_domains(email: str, service: str) -> None:
    provider = GoogleProvider({"refresh_token": "r", "email": email})
    assert provider.service_identity() == ServiceIdentity("google", service)


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ({"tenant_id": CONSUMERS}, ServiceIdentity("live_connect", "outlook_com")),
        (
            {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
            ServiceIdentity("office365", "office365"),
        ),
        ({"email": "ada@outlook.com"}, ServiceIdentity("live_connect", "outlook_com")),
        ({"email": "ada@Hotmail.com"}, ServiceIdentity("live_connect", "outlook_com")),
        ({"email": "ada@contoso.com"}, ServiceIdentity("office365", "office365")),
        (
            {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "email": "ada@outlook.com"},
            ServiceIdentity("office365", "office365"),
        ),
    ],
)
def test_microsoft_tells_personal_from_work_accounts(
    credentials: dict[str, str], expected: ServiceIdentity
) -> None:
    provider = MicrosoftProvider({"refresh_token": "r", **credentials})
    assert provider.service_identity() == expected


def test_the_microsoft_token_keeps_the_tenant_it_names() -> None:
    result = {"access_token": "a", "refresh_token": "r", "id_token_claims": {"tid": CONSUMERS}}
    assert credentials_from_token(result, {})["tenant_id"] == CONSUMERS
