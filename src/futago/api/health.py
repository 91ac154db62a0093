"""/health: liveness plus a few counts, for load balancers and people, and the process's fence: whether it leads,
with which fencing token, and how many side effects it was refused for a stale one (futago.core.fence)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Health
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import api_services, health_service
from futago.core.fence import report
from futago.services.health import HealthService

router = APIRouter(tags=["health"], route_class=JSONRoute)


@router.get("/health", summary="Liveness and counts", response_model=Health)
def health(
    request: Request,
    service: HealthService = Depends(health_service),
    access: Access = Depends(require("READ", "health")),
) -> Response:
    answer = service.report()
    fence = getattr(api_services(request), "fence", None)  # a smaller server's services may have none
    if fence is not None:
        answer["fencing"] = report(fence)
    return json_response(answer)
