"""Every account and profile of the fleet grouped by the status callers see, for the
operator view: who is disconnected (and why), who is pending, who is fine.

The status is :func:`syncd.sync.status.effective_status` (a stale ``active`` profile is
``pending``), the same rule as ``syncd profiles list``, ``syncd status`` and the API; an
account's status is its worst profile's (:func:`member_sync_status`). Listings are
capped at ``limit`` rows per status, worst first; the counts are always complete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlmodel import Session

from syncd.availability import member_sync_status
from syncd.statuses import SyncStatus
from syncd.store.models import Account, Profile
from syncd.store.profiles import list_profiles
from syncd.store.tenants import list_accounts, list_applications
from syncd.sync.status import effective_status

#: The order the operator reads them in: what needs action first.
STATUS_ORDER = (SyncStatus.DISCONNECTED, SyncStatus.PENDING, SyncStatus.ACTIVE)


@dataclass(frozen=True)
class ProfileLine:
    """One profile with its account, application and effective status."""

    profile: Profile
    account: Account
    application_name: str
    sync_status: SyncStatus
    reason: str


@dataclass(frozen=True)
class AccountLine:
    """One account with its worst profile's status and its profiles' count."""

    account: Account
    application_name: str
    sync_status: SyncStatus
    profiles: int


Line = TypeVar("Line", ProfileLine, AccountLine)


@dataclass
class Group(Generic[Line]):
    """The lines of one status: ``total`` of them, at most ``limit`` listed."""

    total: int = 0
    lines: list[Line] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


@dataclass(frozen=True)
class FleetOverview:
    profiles: dict[SyncStatus, Group[ProfileLine]]
    accounts: dict[SyncStatus, Group[AccountLine]]


def fleet_overview(
    session: Session, now: dt.datetime, staleness_bound: float, limit: int = 200
) -> FleetOverview:
    """Profiles and accounts of every application, by effective status."""
    applications = {app.id: app.name for app in list_applications(session)}
    accounts = {account.id: account for account in list_accounts(session)}
    profiles: dict[SyncStatus, Group[ProfileLine]] = {status: Group() for status in STATUS_ORDER}
    statuses_of: dict[str, list[str]] = {account_id: [] for account_id in accounts}
    for profile in list_profiles(session):
        account = accounts[profile.account_id]
        current = effective_status(profile, now, staleness_bound)
        status = SyncStatus(member_sync_status([current.sync_status]))
        statuses_of[account.id].append(status)
        _add(
            profiles[status],
            ProfileLine(
                profile,
                account,
                applications.get(account.application_id, ""),
                status,
                current.reason,
            ),
            limit,
        )
    by_account: dict[SyncStatus, Group[AccountLine]] = {status: Group() for status in STATUS_ORDER}
    for account_id, account in accounts.items():
        statuses = statuses_of[account_id]
        status = SyncStatus(member_sync_status(statuses))
        line = AccountLine(
            account, applications.get(account.application_id, ""), status, len(statuses)
        )
        _add(by_account[status], line, limit)
    return FleetOverview(profiles, by_account)


def _add(group: Group[Line], line: Line, limit: int) -> None:
    group.total += 1
    if len(group.lines) < limit:
        group.lines.append(line)
