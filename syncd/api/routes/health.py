"""Probes: ``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

They differ on purpose. A liveness probe that touched the database would have an
orchestrator restart every replica during a database outage, which fixes nothing;
readiness is what takes a replica out of a load balancer (or fails a container health
check) while its database is unreachable or its schema is behind the code.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from syncd.api.schemas import Health
from syncd.store.db import ping, schema_is_current

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is alive and serving requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    responses={
        200: {"description": "Database reachable, migrations current."},
        503: {"description": "Not ready; `checks` says why."},
    },
)
def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and its schema is at the newest migration, else 503."""
    engine: Engine = request.app.state.engine
    checks: dict[str, Any] = {}
    try:
        ping(engine)
        checks["database"] = "ok"
    except Exception as error:  # any driver error means "not reachable" to a probe
        checks["database"] = f"unreachable: {type(error).__name__}"
    if checks["database"] == "ok":
        try:
            current = schema_is_current(engine)
        except Exception as error:
            checks["migrations"] = f"unknown: {type(error).__name__}"
        else:
            checks["migrations"] = (
                "ok" if current else "behind: run `syncd migrate` or start a daemon to upgrade"
            )
    else:
        checks["migrations"] = "unknown: database unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
