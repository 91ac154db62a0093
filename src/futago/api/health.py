"""/health: liveness plus a few counts, for load balancers and people."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from futago import __version__
from futago.api.access import Access, require
from futago.api.deps import JSONRoute, get_app, json_response
from futago.app import App

router = APIRouter(tags=["health"], route_class=JSONRoute)


@router.get("/health", summary="Liveness and counts")
def health(app: App = Depends(get_app), access: Access = Depends(require("READ", "health"))) -> Response:
    return json_response(
        {
            "status": "ok",
            "version": __version__,
            "store": app.store.url,
            "models": len(app.models.models),
            "twins": app.store.count_twins(),
        }
    )
