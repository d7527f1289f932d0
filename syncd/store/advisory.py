"""Postgres session advisory locks, one per purpose and schema.

An advisory lock's key is the database's, while syncd's tables live in the schema its
connections use (``search_path``). Keyed by the purpose alone, two deployments in
different schemas of one database (or two test workers) would hold each other off; here
the key pairs the purpose with a hash of the current schema (the two-integer form), so
one holder per purpose and syncd database. SQLite has one daemon: always granted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

__all__ = ["PUSH_MAINTENANCE", "exclusively"]

#: The push channels' maintenance pass (``syncd/sync/push.py``): "push".
PUSH_MAINTENANCE = 0x70757368

_SCHEMA_KEY = "hashtext(coalesce(current_schema(), ''))"
_TRY_LOCK = text(f"SELECT pg_try_advisory_lock(:purpose, {_SCHEMA_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock(:purpose, {_SCHEMA_KEY})")


@contextmanager
def exclusively(engine: Engine, purpose: int) -> Iterator[bool]:
    """True when this process holds ``purpose``'s lock for the block (never waits);
    False when another session holds it."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        got = bool(connection.execute(_TRY_LOCK, {"purpose": purpose}).scalar())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(_UNLOCK, {"purpose": purpose})
                connection.commit()
