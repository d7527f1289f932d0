"""GET /metrics: Prometheus text exposition of this process's instruments and fleet gauges.

Unauthenticated, like every Prometheus target: it carries counts, never ids or secrets.
Expose the API port only to trusted networks, or block ``/metrics`` at the proxy.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from syncd import metrics

router = APIRouter(tags=["health"])


def install(app: FastAPI) -> None:
    """Give ``app`` a registry with fleet gauges read through its own engine."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        metrics.FleetCollector(app.state.engine, lambda: app.state.settings.staleness_bound)
    )
    app.state.metrics_registry = registry
    app.include_router(router)


@router.get("/metrics", response_class=Response, include_in_schema=False)
def prometheus_metrics(request: Request) -> Response:
    body = metrics.render(request.app.state.metrics_registry)
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)
