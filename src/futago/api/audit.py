"""/audit: the tamper-evident log (read, verify, checkpoint), and the middleware that records who wrote what.

Every request that changes something (POST, PUT, PATCH, DELETE) is recorded with the caller, the path and the
answer's status; the changes themselves are recorded from the event bus (``futago.security.recorder``). Refused
requests (401, 403, 429) and writes by nobody authenticated are counted instead, one entry per client and minute
(``futago.security.refusals``), and a client refused 401 too often is turned away (429) before authentication, so
no anonymous traffic can grow the store or the server's work without bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from futago.api.access import Access, require
from futago.api.answers import AuditPage, Checkpoint, Checkpoints, Verification
from futago.api.clients import client_address
from futago.api.deps import SQL_MAX, JSONRoute, json_response
from futago.api.errors import problem_response, retry_after
from futago.api.providers import ApiServices, audit_log
from futago.core.errors import NotFound, TooManyRequests
from futago.security.audit import AuditLog
from futago.security.limits import SharedRateLimiter
from futago.security.refusals import RefusalSummary

router = APIRouter(tags=["audit"], route_class=JSONRoute)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = frozenset({401, 403, 429})


@router.get(
    "/audit",
    summary="Audit entries in the order they were stored (a page after position 'after')",
    response_model=AuditPage,
)
def list_audit(
    request: Request,
    after: Annotated[int, Query(ge=0, le=SQL_MAX, description="the position after which to start (0: the first)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    audit: AuditLog = Depends(audit_log),
    access: Access = Depends(require("ADMIN", "audit")),
) -> Response:
    refusals: RefusalSummary | None = getattr(request.app.state, "refusals", None)
    if refusals is not None:
        refusals.flush()  # the refusals counted so far, too
    page = audit.page(after, limit)  # every entry recorded before this request asked
    body: dict[str, Any] = {"value": [{"position": pos, **entry.to_json()} for pos, entry in page]}
    if len(page) == limit:
        body["nextAfter"] = page[-1][0]
    return json_response(body)


@router.get(
    "/audit/verify",
    summary="Check the hash chain against the signed checkpoints, in the store and outside it (truncated, uncovered)",
    response_model=Verification,
)
def verify_audit(audit: AuditLog = Depends(audit_log), access: Access = Depends(require("ADMIN", "audit"))) -> Response:
    return json_response(audit.verify().to_json())


@router.get("/audit/checkpoints", summary="The signed checkpoints of the chain", response_model=Checkpoints)
def list_checkpoints(
    audit: AuditLog = Depends(audit_log), access: Access = Depends(require("ADMIN", "audit"))
) -> Response:
    return json_response({"value": [c.to_json() for c in audit.checkpoints()]})


@router.post(
    "/audit/checkpoints",
    summary="Sign the chain's head now; keep the answer elsewhere as proof",
    status_code=201,
    response_model=Checkpoint,
)
def create_checkpoint(
    audit: AuditLog = Depends(audit_log), access: Access = Depends(require("ADMIN", "audit"))
) -> Response:
    checkpoint = audit.checkpoint()
    if checkpoint is None:
        raise NotFound("the audit is empty: there is nothing to sign yet")
    return json_response(checkpoint.to_json(), status_code=201)


class AuditRequests:
    """ASGI middleware: after a write or a refusal has been answered, record it (refusals summarised); before
    anything else, turn away a client over its budget of 401s."""

    def __init__(self, app: ASGIApp, futago: ApiServices) -> None:
        self.app = app
        self.audit = futago.audit
        per_minute = futago.settings.refusals_per_minute
        # 401s per client address, counted by every process of a deployment together
        self.unauthenticated = SharedRateLimiter(per_minute, futago.security.budget, "refusals", burst=per_minute / 2)
        self.refusals = RefusalSummary(futago.audit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("app") is not None:  # GET /audit writes the open windows first
            scope["app"].state.refusals = self.refusals
        if scope["type"] == "lifespan":
            await self.app(scope, self._flushing_at_shutdown(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)  # decided by ClientAddress: the peer, or behind a trusted proxy its client
        method, path = scope["method"], scope["path"]
        try:
            self.unauthenticated.check(f"client {address}")
        except TooManyRequests as exc:  # no authentication, no route: the cheapest answer there is
            self.refusals.add(address, "anonymous", method, path, 429)
            detail = f"too many refused requests from {address}; try again in {exc.retry_after_s:.0f} s"
            await problem_response(429, detail, headers=retry_after(exc.retry_after_s))(scope, receive, send)
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
            caller: str | None = (scope.get("state") or {}).get("caller")
            if status == 401:
                self.unauthenticated.spend(f"client {address}")
            if status in REFUSED or (method in WRITES and caller is None):  # nobody accountable: counted only
                self.refusals.add(address, caller or "anonymous", method, path, status)
            elif method in WRITES and caller is not None:
                answered = {"status": status, "client": address}
                self.audit.record(caller, f"api.{method.lower()}", path, answered)  # queued: it does not wait

    def _flushing_at_shutdown(self, receive: Receive) -> Callable[[], Awaitable[Message]]:
        async def flushing() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":  # before the App closes its audit
                self.refusals.flush()
            return message

        return flushing
