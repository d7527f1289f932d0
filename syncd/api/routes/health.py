"""GET /healthz: the process is up and the database answers (for probes and ApiServer)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlmodel import Session

from syncd.api.context import db_session
from syncd.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(session: Session = Depends(db_session)) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok")
