"""Extension tokens: personal tokens for the syncd browser extension, made (shown once,
stored hashed) and revoked here. They are accepted only by ``/v1/personalized_links``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.errors import UserError
from syncd.store.personal_links import (
    add_extension_token,
    extension_tokens_of_account,
    revoke_extension_token,
)
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import page_path, reading, render, server_base_url, transaction
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]
MAX_NAME = 100


def _page(request: Request, who: SignedIn, status: int = 200, **context: object) -> Response:
    with reading(request) as session:
        tokens = extension_tokens_of_account(session, who.account.id)
    return render(
        request,
        "extension_tokens.html",
        {
            "title": "Extension tokens",
            "active": "web.extension_tokens",
            "tokens": tokens,
            "server_url": server_base_url(request),
            **context,
        },
        status_code=status,
    )


@router.get("/extension-tokens", name="web.extension_tokens")
def extension_tokens_page(request: Request, who: Who, done: str = "") -> Response:
    notice = "The token was revoked." if done == "revoked" else None
    return _page(request, who, notice=notice)


@router.post(
    "/extension-tokens", name="web.extension_token_add", dependencies=[Depends(csrf_protect)]
)
def add_token(request: Request, who: Who, name: Annotated[str, Form()] = "") -> Response:
    label = name.strip()
    if not 1 <= len(label) <= MAX_NAME:
        return _page(request, who, 422, error=f"Name the token (1 to {MAX_NAME} characters).")
    with transaction(request) as session:
        _, token = add_extension_token(session, who.account.id, label)
    # Shown once, in this answer only (not a redirect: the token must not be in a URL).
    return _page(request, who, new_token=token, notice="Copy the token now: it is shown once.")


@router.post(
    "/extension-tokens/{token_id}/revoke",
    name="web.extension_token_revoke",
    dependencies=[Depends(csrf_protect)],
)
def revoke_token(request: Request, who: Who, token_id: str) -> Response:
    try:
        with transaction(request) as session:
            revoke_extension_token(session, who.account.id, token_id)
    except UserError as problem:
        return _page(request, who, 404, error=form_error(problem))
    return RedirectResponse(
        page_path(request, "web.extension_tokens") + "?done=revoked", status_code=303
    )
