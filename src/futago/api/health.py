"""/health: liveness plus a few counts, for load balancers and people."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Health
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import health_service
from futago.services.health import HealthService

router = APIRouter(tags=["health"], route_class=JSONRoute)


@router.get("/health", summary="Liveness and counts", response_model=Health)
def health(
    service: HealthService = Depends(health_service), access: Access = Depends(require("READ", "health"))
) -> Response:
    return json_response(service.report())
