"""Summarize a member's profiles into one ``sync_status`` for ``member_statuses``."""

from collections.abc import Iterable


def member_sync_status(profile_statuses: Iterable[str]) -> str:
    """The worst status wins: ``disconnected`` > ``pending`` > ``active``.

    A member with no profile at all is ``pending``: we hold no calendar data
    for it, so its free time cannot be trusted, yet nothing was refused either.
    Unknown status values count as ``pending`` for the same reason.
    """
    statuses = set(profile_statuses)
    if "disconnected" in statuses:
        return "disconnected"
    if not statuses or statuses != {"active"}:
        return "pending"
    return "active"
