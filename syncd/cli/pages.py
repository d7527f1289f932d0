"""``syncd accounts invite`` and ``syncd operator``: access to the hosted pages.

An invite is a one-time link with which a person sets their password (and is signed in);
the operator password opens the operator view (docs/web.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from syncd.cli.output import JsonOption, out, print_json
from syncd.cli.runtime import runtime
from syncd.identity.accounts import create_invite, has_password
from syncd.identity.operator import set_operator_password
from syncd.store.tenants import find_account
from syncd.web.links import invite_url, pages_base_url, sign_in_url

operator_app = typer.Typer(
    help="The operator view of the hosted pages.", no_args_is_help=True, rich_markup_mode=None
)


def accounts_invite(account_id: str, as_json: JsonOption = False) -> None:
    """Print a one-time link for the account's person to set a password (and sign in).
    An older unused link of the account stops working."""
    settings = runtime.settings
    lifetime = dt.timedelta(days=settings.web.invite_days)
    now = dt.datetime.now(dt.UTC)
    with runtime.session() as session:
        account = find_account(session, account_id)
        token = create_invite(session, account.id, now=now, lifetime=lifetime)
        had_password = has_password(session, account.id)
        application_id = account.application_id
    link = invite_url(settings, token)
    expires = (now + lifetime).isoformat(timespec="seconds")
    if as_json:
        print_json(
            {
                "account_id": account_id,
                "invite_url": link,
                "expires_at": expires,
                "sign_in_url": sign_in_url(settings, application_id),
                "replaces_password": had_password,
            }
        )
        return
    out.print(link, markup=False, highlight=False, soft_wrap=True)
    out.print(f"valid once, until {expires}", markup=False, highlight=False)
    if had_password:
        out.print("the account has a password: the link sets a new one", markup=False)


@operator_app.command("set-password")
def operator_set_password(
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            confirmation_prompt=True,
            hide_input=True,
            envvar="SYNCD_OPERATOR_PASSWORD",
            help="The new password (asked for when not given; or $SYNCD_OPERATOR_PASSWORD).",
        ),
    ],
) -> None:
    """Set the password of the operator view (replaces the old one)."""
    with runtime.session() as session:
        set_operator_password(session, password, dt.datetime.now(dt.UTC))
    out.print(
        f"operator password set; sign in at {pages_base_url(runtime.settings)}/operator",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
