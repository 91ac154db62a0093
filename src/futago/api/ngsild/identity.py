"""/ngsi-ld/v1/info/sourceIdentity: who this Context Source is (GS CIM 009 5.15.1, the members of 5.2.40).

The alias names one tenant of this broker (the multi-tenancy rule of Table 5.2.40-1): it is derived from the
store's identity (an id drawn once when the store was made, kept in it) and the tenant, so every process of a
deployment answers the same one, it stays the same across restarts, and it differs between tenants, which is what
a peer compares in a Via chain to tell a loop from a second tenant. Reading it needs no tenant to exist yet.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.ngsild.http import Call, NgsiLdRoute, answer_doc, call_of
from futago.api.providers import ngsild_service
from futago.services.ngsild import NgsiLdService

router = APIRouter(prefix="/info", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
Service = Annotated[NgsiLdService, Depends(ngsild_service)]
Reader = Annotated[Access, Depends(require("READ", "query"))]
_STARTED = time.monotonic()  # the uptime counts from when this process loaded the NGSI-LD door
IDENTITY = {
    "type": "object",
    "description": "ContextSourceIdentity: alias, uptime (ISO 8601 duration) and the time now",
    "properties": {
        m: {"type": "string"}
        for m in ("id", "type", "contextSourceAlias", "contextSourceUptime", "contextSourceTimeAt")
    },
}


def uptime_duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration (``P1DT2H3M4S``, ``PT0S``)."""
    days, rest = divmod(max(0, int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n) + f"{secs}S"
    return "P" + (f"{days}D" if days else "") + "T" + clock


def alias_of(source: str, tenant: str | None) -> str:
    """A stable URN for one tenant of this Context Source (the default tenant has its own)."""
    digest = hashlib.sha256(f"{source}\x00{tenant or ''}".encode()).hexdigest()[:24]
    return f"urn:ngsi-ld:ContextSource:{digest}"


@router.get("/sourceIdentity", summary="Retrieve this Context Source's identity", responses=answer_doc(IDENTITY))
def source_identity(request: Request, service: Service, _: Reader) -> Response:
    call: Call = call_of(request, service, geo=False)
    alias = alias_of(service.source_id(), call.tenant)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return call.answer(
        {
            "id": alias,
            "type": "ContextSourceIdentity",
            "contextSourceAlias": alias,
            "contextSourceUptime": uptime_duration(time.monotonic() - _STARTED),
            "contextSourceTimeAt": now,
        }
    )
