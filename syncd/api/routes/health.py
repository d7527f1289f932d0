"""Probes: ``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

They differ on purpose. A liveness probe that touched the database would have an
orchestrator restart every replica during a database outage, which fixes nothing;
readiness is what takes a replica out of a load balancer (or fails a container health
check) while its database is unreachable or its schema is behind the code. A schema
ahead of the code (a newer release has migrated it) keeps an old replica ready, so a
rolling upgrade never takes the old replicas out before the new ones are up.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from syncd.api.schemas import Health
from syncd.store.db import current_revisions, ping, schema_state

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is alive and serving requests."""
    return Health(status="ok")


def _migrations_check(engine: Engine) -> str:
    try:
        state = schema_state(engine)
        if state == "ahead":
            newer = ", ".join(current_revisions(engine))
            return f"ok: the database is at a newer revision ({newer}) this version can use"
    except Exception as error:
        return f"unknown: {type(error).__name__}"
    if state == "behind":
        return "behind: run `syncd migrate` or start a daemon to upgrade"
    return "ok"


@router.get(
    "/readyz",
    responses={
        200: {"description": "Database reachable, schema current (or newer, compatible)."},
        503: {"description": "Not ready; `checks` says why."},
    },
)
def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and its schema is this version's newest migration or
    a newer one (a rolling upgrade: migrations only add), else 503."""
    engine: Engine = request.app.state.engine
    checks: dict[str, Any] = {}
    try:
        ping(engine)
        checks["database"] = "ok"
    except Exception as error:  # any driver error means "not reachable" to a probe
        checks["database"] = f"unreachable: {type(error).__name__}"
    if checks["database"] == "ok":
        checks["migrations"] = _migrations_check(engine)
    else:
        checks["migrations"] = "unknown: database unreachable"
    ready = checks["database"] == "ok" and checks["migrations"].startswith("ok")
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
