"""Links syncd hands out in Cronofy's wire format, built in one place so the API and
the hosted pages agree on them."""

from __future__ import annotations


def profile_relink_url(base_url: str, profile_id: str) -> str:
    """``profile_relink_url``: the hosted page that reauthorizes one disconnected profile
    (the person signs in first). ``base_url`` is this server's public URL."""
    return f"{base_url.rstrip('/')}/oauth/profiles/{profile_id}/relink"
