"""/audit: the tamper-evident log (read, verify, checkpoint), and the middleware that records who wrote what.

Every request that changes something (POST, PUT, PATCH, DELETE) and every refused one (401, 403) is recorded
with the caller, the path and the answer's status; the changes themselves are recorded from the event bus
(``futago.security.recorder``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from futago.api.access import Access, require
from futago.api.deps import SQL_MAX, JSONRoute, get_app, json_response
from futago.app import App
from futago.core.errors import NotFound

router = APIRouter(tags=["audit"], route_class=JSONRoute)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = frozenset({401, 403})


@router.get("/audit", summary="Audit entries in the order they were stored (a page after position 'after')")
def list_audit(
    after: Annotated[int, Query(ge=0, le=SQL_MAX, description="the position after which to start (0: the first)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    app: App = Depends(get_app),
    access: Access = Depends(require("ADMIN", "audit")),
) -> Response:
    app.audit.flush()  # a reader sees every entry recorded before it asked
    page = app.store.scan_audit(after, limit)
    body: dict[str, Any] = {"value": [{"position": pos, **entry.to_json()} for pos, entry in page]}
    if len(page) == limit:
        body["nextAfter"] = page[-1][0]
    return json_response(body)


@router.get("/audit/verify", summary="Check the hash chain and the signed checkpoints; names the first bad entry")
def verify_audit(app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "audit"))) -> Response:
    return json_response(app.audit.verify().to_json())


@router.get("/audit/checkpoints", summary="The signed checkpoints of the chain")
def list_checkpoints(app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "audit"))) -> Response:
    app.audit.flush()
    return json_response({"value": [c.to_json() for c in app.store.list_audit_checkpoints()]})


@router.post(
    "/audit/checkpoints", summary="Sign the chain's head now; keep the answer elsewhere as proof", status_code=201
)
def create_checkpoint(app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "audit"))) -> Response:
    checkpoint = app.audit.checkpoint()
    if checkpoint is None:
        raise NotFound("the audit is empty: there is nothing to sign yet")
    return json_response(checkpoint.to_json(), status_code=201)


class AuditRequests:
    """ASGI middleware: after a write or a refusal has been answered, record it."""

    def __init__(self, app: ASGIApp, futago: App) -> None:
        self.app = app
        self.futago = futago

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            if scope["method"] in WRITES or status in REFUSED:
                caller = (scope.get("state") or {}).get("caller", "anonymous")
                client = scope.get("client")
                detail = {"status": status, "client": client[0] if client else None}
                action = f"api.{scope['method'].lower()}" if status not in REFUSED else f"api.refused.{status}"
                self.futago.audit.record(caller, action, scope["path"], detail)  # queued: it does not wait
