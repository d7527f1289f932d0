"""Link templates, personalized links and extension tokens: their SQL.

The checks of what a template may say live in ``syncd.scheduling.personal``; this
module only stores and finds rows, always within one account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from syncd.errors import NotFoundError
from syncd.ids import new_id
from syncd.store.crypto import hash_secret, new_api_secret
from syncd.store.link_models import ExtensionToken, LinkTemplate, PersonalLink
from syncd.store.models import SchedulingLink, utcnow

EXTENSION_TOKEN_PREFIX = "sxt"


def add_template(session: Session, account_id: str, **fields: Any) -> LinkTemplate:
    row = LinkTemplate(id=new_id("ltp"), account_id=account_id, **fields)
    session.add(row)
    session.flush()
    return row


def templates_of_account(session: Session, account_id: str) -> list[LinkTemplate]:
    return list(
        session.execute(
            select(LinkTemplate)
            .where(
                col(LinkTemplate.account_id) == account_id,
                col(LinkTemplate.deleted_at).is_(None),
            )
            .order_by(col(LinkTemplate.created_at), col(LinkTemplate.id))
        ).scalars()
    )


def template_of_account(session: Session, account_id: str, template_id: str) -> LinkTemplate:
    row = session.get(LinkTemplate, template_id)
    if row is None or row.account_id != account_id or row.deleted_at is not None:
        raise NotFoundError(f"no link template {template_id!r}")
    return row


def delete_template(session: Session, template: LinkTemplate) -> None:
    """Kept as a tombstone: links already made from it still name it."""
    template.deleted_at = utcnow()
    session.add(template)


def add_personal_link(session: Session, link: SchedulingLink, **fields: Any) -> PersonalLink:
    row = PersonalLink(link_id=link.id, **fields)
    session.add(row)
    session.flush()
    return row


def personal_links_of_account(
    session: Session, account_id: str
) -> list[tuple[PersonalLink, SchedulingLink]]:
    """Newest first."""
    rows = session.execute(
        select(PersonalLink, SchedulingLink)
        .join(SchedulingLink, col(SchedulingLink.id) == col(PersonalLink.link_id))
        .where(col(PersonalLink.account_id) == account_id)
        .order_by(col(PersonalLink.created_at).desc(), col(PersonalLink.link_id))
    ).all()
    return [(personal, link) for personal, link in rows]


def personal_link_of_account(
    session: Session, account_id: str, link_id: str
) -> tuple[PersonalLink, SchedulingLink]:
    personal = session.get(PersonalLink, link_id)
    link = session.get(SchedulingLink, link_id)
    if personal is None or link is None or personal.account_id != account_id:
        raise NotFoundError(f"no personalized link {link_id!r}")
    return personal, link


def personal_link_of_link(session: Session, link_id: str) -> PersonalLink | None:
    return session.get(PersonalLink, link_id)


def add_extension_token(session: Session, account_id: str, name: str) -> tuple[ExtensionToken, str]:
    """The row and the token, which is shown once and stored only as its hash."""
    token = new_api_secret(EXTENSION_TOKEN_PREFIX)
    row = ExtensionToken(
        id=new_id("ext"), account_id=account_id, name=name, token_hash=hash_secret(token)
    )
    session.add(row)
    session.flush()
    return row, token


def extension_tokens_of_account(session: Session, account_id: str) -> list[ExtensionToken]:
    return list(
        session.execute(
            select(ExtensionToken)
            .where(
                col(ExtensionToken.account_id) == account_id,
                col(ExtensionToken.revoked_at).is_(None),
            )
            .order_by(col(ExtensionToken.created_at), col(ExtensionToken.id))
        ).scalars()
    )


def revoke_extension_token(session: Session, account_id: str, token_id: str) -> ExtensionToken:
    row = session.get(ExtensionToken, token_id)
    if row is None or row.account_id != account_id or row.revoked_at is not None:
        raise NotFoundError(f"no extension token {token_id!r}")
    row.revoked_at = utcnow()
    session.add(row)
    return row


def extension_token_owner(session: Session, token: str) -> str | None:
    """The account an unrevoked token belongs to, else None (a read only)."""
    row = _live_token(session, token)
    return None if row is None else str(row.account_id)


def account_for_extension_token(
    session: Session, token: str, now: dt.datetime | None = None
) -> str | None:
    """As :func:`extension_token_owner`, noting the token's use."""
    row = _live_token(session, token)
    if row is None:
        return None
    row.last_used_at = now or utcnow()
    session.add(row)
    return str(row.account_id)


def _live_token(session: Session, token: str) -> ExtensionToken | None:
    if not token.startswith(EXTENSION_TOKEN_PREFIX + "_"):
        return None
    return session.execute(
        select(ExtensionToken).where(
            col(ExtensionToken.token_hash) == hash_secret(token),
            col(ExtensionToken.revoked_at).is_(None),
        )
    ).scalar_one_or_none()
