"""Summarize a member's profiles into one ``sync_status`` for ``member_statuses``.

This is the only implementation of the rule (``docs/api.md`` and ``docs/sync-engine.md``,
"sync_status"); the API, the CLI and everything else call it.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncd.statuses import SyncStatus

__all__ = ["member_sync_status"]


def member_sync_status(profile_statuses: Iterable[str]) -> SyncStatus:
    """A member is as trustworthy as its least trustworthy profile.

    ``profile_statuses`` are the *effective* statuses of the member's profiles (stale
    ones already reported as ``pending``). The worst wins:

    - ``disconnected`` if any profile is disconnected;
    - else ``pending`` if any profile is pending, or if the member has no profile at all
      (we hold no calendar data for it, so its free time cannot be trusted, yet nothing
      was refused either);
    - else ``active``: every profile is active.

    A status this rule does not know (e.g. ``"refreshing"``, written by a newer version
    or by hand) counts as ``pending``: it does not say the data is current, so the
    member is not ``active``, and it does not say the credentials were refused, so it
    does not hide a ``disconnected`` profile either. In short, ``active`` needs every
    profile to be exactly ``active``.
    """
    statuses = set(profile_statuses)
    if SyncStatus.DISCONNECTED in statuses:
        return SyncStatus.DISCONNECTED
    if not statuses or statuses != {SyncStatus.ACTIVE}:
        return SyncStatus.PENDING
    return SyncStatus.ACTIVE
