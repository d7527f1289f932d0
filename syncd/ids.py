"""Public ids in the Cronofy shapes: opaque, random, URL-safe, with a type prefix."""

from __future__ import annotations

import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    """``new_id("acc")`` → ``acc_…``; 96 random bits by default."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes).replace('-', 'x').replace('_', 'y')}"
