"""Issue 12, item 6: ``/v1/profiles`` and ``/v1/calendars`` name each service as Cronofy
does, once the engine has synced the profile (the Graph emulator's tenant is a work
one, the Google account a Workspace domain, Radicale an ordinary CalDAV server)."""

from __future__ import annotations

from tests.support.provider_world import ProviderWorld, provider_world

__all__ = ["provider_world"]  # the shared fixture, from tests/support/provider_world.py


def test_profiles_and_calendars_carry_cronofys_provider_names(
    provider_world: ProviderWorld,
) -> None:
    profiles = provider_world.client.get("/v1/profiles", headers=provider_world.auth()).json()
    calendars = provider_world.client.get("/v1/calendars", headers=provider_world.auth()).json()

    by_profile = {
        p["profile_id"]: (p["provider_name"], p["provider_service"]) for p in profiles["profiles"]
    }
    assert by_profile == {
        provider_world.profiles["google"]: ("google", "gsuite"),
        provider_world.profiles["microsoft"]: ("office365", "office365"),
        provider_world.profiles["caldav"]: ("caldav", "caldav"),
    }
    names = {c["profile_id"]: c["provider_name"] for c in calendars["calendars"]}
    assert {names[provider_world.profiles[p]] for p in ("google", "microsoft", "caldav")} == {
        "google",
        "office365",
        "caldav",
    }
