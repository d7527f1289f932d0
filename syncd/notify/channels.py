"""Push notification channels (Cronofy ``/v1/channels``) and the notifications they get.

Every notification is an outbox row written in the same transaction as the change that
caused it (the channel's creation, the sync run's bookkeeping, the profile's move to
``disconnected``), so none is sent for a rolled-back change and none is lost to a crash
after the commit. Bodies are Cronofy's: ``{"notification": {...}, "channel": {...}}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlmodel import Session, col

from syncd.config import Settings
from syncd.errors import NotFoundError, invalid
from syncd.ids import new_id
from syncd.notify.outbox import enqueue, enqueue_once, release
from syncd.notify.urls import validate_webhook_url
from syncd.store.models import Account, Event, NotificationChannel, Profile, utcnow
from syncd.store.queries import calendars_of_account

#: Open channels one account may have (Cronofy's documented limit).
MAX_CHANNELS_PER_ACCOUNT = 128


def iso_z(moment: dt.datetime) -> str:
    """UTC, whole seconds, ``Z``: the format Cronofy uses (and ``last_modified`` accepts).

    Truncating (never rounding up) keeps ``changes_since`` at or before the changes."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def channel_view(channel: NotificationChannel) -> dict[str, Any]:
    """The channel as Cronofy shows it, in responses and in every notification body."""
    return {
        "channel_id": channel.id,
        "callback_url": channel.callback_url,
        "filters": dict(channel.filters),
    }


def _open_channels(session: Session, account_id: str) -> list[NotificationChannel]:
    return list(
        session.execute(
            select(NotificationChannel)
            .where(
                col(NotificationChannel.account_id) == account_id,
                col(NotificationChannel.closed_at).is_(None),
            )
            .order_by(col(NotificationChannel.created_at), col(NotificationChannel.id))
        ).scalars()
    )


def create_channel(
    session: Session,
    settings: Settings,
    account: Account,
    callback_url: str,
    calendar_ids: Sequence[str] | None = None,
    only_managed: bool | None = None,
) -> NotificationChannel:
    """Open a channel and queue its ``verification`` notification (same transaction).

    An invalid field is a :class:`~syncd.errors.FieldErrors` naming it (the API's 422)."""
    try:
        validate_webhook_url(callback_url, settings)
    except ValueError as error:
        raise invalid("callback_url", "errors.invalid", str(error)) from None
    filters: dict[str, Any] = {}
    if calendar_ids is not None:
        if not calendar_ids:
            raise invalid("filters.calendar_ids", "errors.too_few", "give at least one calendar id")
        own = {calendar.id for calendar, _profile in calendars_of_account(session, account.id)}
        unknown = [calendar_id for calendar_id in calendar_ids if calendar_id not in own]
        if unknown:
            raise invalid(
                "filters.calendar_ids",
                "errors.not_found",
                f"not calendars of this account: {', '.join(unknown)}",
            )
        filters["calendar_ids"] = list(dict.fromkeys(calendar_ids))
    if only_managed is not None:
        filters["only_managed"] = bool(only_managed)
    open_count = session.execute(
        select(func.count())
        .select_from(NotificationChannel)
        .where(
            col(NotificationChannel.account_id) == account.id,
            col(NotificationChannel.closed_at).is_(None),
        )
    ).scalar_one()
    if open_count >= MAX_CHANNELS_PER_ACCOUNT:
        raise invalid(
            "base",
            "errors.too_many",
            f"an account may have at most {MAX_CHANNELS_PER_ACCOUNT} open channels; "
            "close one first",
        )
    channel = NotificationChannel(
        id=new_id("chn"),
        application_id=account.application_id,
        account_id=account.id,
        callback_url=callback_url,
        filters=filters,
    )
    session.add(channel)
    session.flush()
    _notify(session, channel, {"type": "verification"})
    return channel


def list_channels(session: Session, account_id: str) -> list[NotificationChannel]:
    """The account's open channels, oldest first."""
    return _open_channels(session, account_id)


def close_channel(session: Session, account_id: str, channel_id: str) -> None:
    """Stop notifications to a channel; another account's or unknown id → NotFoundError.

    Notifications already queued for it are still delivered (they describe changes that
    happened while it was open)."""
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or channel.account_id != account_id or channel.closed_at is not None:
        raise NotFoundError(f"no channel {channel_id!r}")
    channel.closed_at = utcnow()
    session.add(channel)


def _notify(
    session: Session,
    channel: NotificationChannel,
    notification: dict[str, Any],
    coalesce_key: str | None = None,
    not_before: dt.datetime | None = None,
) -> bool:
    """Queue ``notification`` for ``channel``; with ``coalesce_key``, at most once per key
    and channel (False when it was queued already)."""
    payload = {"notification": notification, "channel": channel_view(channel)}
    kind = str(notification["type"])
    if coalesce_key is None:
        enqueue(session, channel.application_id, kind, channel.callback_url, payload)
        return True
    delivery_id = f"dlv_{kind}_{coalesce_key}_{channel.id}"
    queued = enqueue_once(
        session,
        channel.application_id,
        kind,
        channel.callback_url,
        payload,
        delivery_id,
        not_before,
    )
    return queued is not None


def _changed_managed_calendars(
    session: Session, calendar_ids: Iterable[str], since: dt.datetime
) -> set[str]:
    """Calendars among ``calendar_ids`` where an event written through our API changed."""
    ids = list(calendar_ids)
    if not ids:
        return set()
    rows = session.execute(
        select(col(Event.calendar_id))
        .where(
            col(Event.calendar_id).in_(ids),
            col(Event.managed_event_id).is_not(None),
            col(Event.updated_at) >= since,
        )
        .distinct()
    )
    return set(rows.scalars())


def notify_changes(
    session: Session,
    account_id: str,
    changed_calendar_ids: Iterable[str],
    changes_since: dt.datetime,
    managed_calendar_ids: Iterable[str] | None = None,
    coalesce_key: str | None = None,
    not_before: dt.datetime | None = None,
) -> int:
    """Queue one ``change`` notification per open channel of the account whose filters
    match a changed calendar; returns how many were queued.

    ``only_managed`` channels match only calendars in ``managed_calendar_ids`` (default:
    calendars with a managed event updated since ``changes_since``). With
    ``coalesce_key`` (one sync run), a channel already notified under that key is not
    notified again: each page of a run calls this in its own transaction, so the
    notification is committed with the first page that concerns the channel.
    """
    changed = set(changed_calendar_ids)
    if not changed:
        return 0
    channels = _open_channels(session, account_id)
    if not channels:
        return 0
    managed = (
        set(managed_calendar_ids)
        if managed_calendar_ids is not None
        else (
            _changed_managed_calendars(session, changed, changes_since)
            if any(channel.filters.get("only_managed") for channel in channels)
            else set()
        )
    )
    queued = 0
    for channel in channels:
        relevant = managed & changed if channel.filters.get("only_managed") else changed
        wanted = channel.filters.get("calendar_ids")
        if wanted is not None:
            relevant = relevant & set(wanted)
        if relevant and _notify(
            session,
            channel,
            {"type": "change", "changes_since": iso_z(changes_since)},
            coalesce_key,
            not_before,
        ):
            queued += 1
    return queued


#: How long a page's ``change`` waits for its run when the profile holds no lease.
CHANGE_HOLD_SECONDS = 300.0


def _run_key(profile: Profile, started_at: dt.datetime) -> str:
    return f"{profile.id}_{started_at.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}"


def on_profile_changed(
    session: Session, profile: Profile, changed_calendar_ids: set[str], started_at: dt.datetime
) -> None:
    """Sync hook, in the transaction of each page that changed these calendars.

    Queues the run's ``change`` (one per channel and run, coalesced) held back until the
    profile's lease runs out: the run releases it when it finishes, so the receiver does
    not fetch half a run's changes and then hear nothing of the rest; if the process dies
    instead, it goes out once the lease (the time another daemon waits) has lapsed."""
    hold = profile.lease_expires_at or utcnow() + dt.timedelta(seconds=CHANGE_HOLD_SECONDS)
    notify_changes(
        session,
        profile.account_id,
        changed_calendar_ids,
        started_at,
        coalesce_key=_run_key(profile, started_at),
        not_before=hold,
    )


def on_profile_synced(
    session: Session, profile: Profile, changed_calendar_ids: set[str], started_at: dt.datetime
) -> None:
    """Sync hook: the run that started at ``started_at`` finished, having changed these
    calendars: whatever its pages queued is due now (and anything they did not is queued)."""
    run_key = _run_key(profile, started_at)
    notify_changes(
        session, profile.account_id, changed_calendar_ids, started_at, coalesce_key=run_key
    )
    release(session, f"dlv_change_{run_key}_")


def on_profile_disconnected(session: Session, profile: Profile) -> None:
    """Sync hook: tell every open channel of the account (in the status change's transaction)."""
    for channel in _open_channels(session, profile.account_id):
        _notify(session, channel, {"type": "profile_disconnected"})


class SyncHooks(Protocol):
    """Where a sync run calls back (``syncd.sync.run.SyncContext`` is one).

    Declared here so notify does not import the sync engine that drives it.
    """

    @property
    def on_disconnected(self) -> list[Callable[[Session, Profile], None]]: ...

    @property
    def on_synced(self) -> list[Callable[[Session, Profile, set[str], dt.datetime], None]]: ...

    @property
    def on_changed(self) -> list[Callable[[Session, Profile, set[str], dt.datetime], None]]: ...


def install_sync_hooks(context: SyncHooks) -> None:
    """Wire channel notifications into a sync context (daemon and ``syncd sync``)."""
    if on_profile_disconnected not in context.on_disconnected:
        context.on_disconnected.append(on_profile_disconnected)
    if on_profile_synced not in context.on_synced:
        context.on_synced.append(on_profile_synced)
    if on_profile_changed not in context.on_changed:
        context.on_changed.append(on_profile_changed)
