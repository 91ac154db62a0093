"""Telemetry in (bulk JSON or NDJSON) and history out (raw or bucketed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.deps import get_app, json_response
from futago.app import App
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import AGGREGATIONS, format_timestamp
from futago.ingest.records import parse_json_body, parse_ndjson, records_to_readings

router = APIRouter(tags=["telemetry"])
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines")


async def _append_body(request: Request, app: App, twin_id: str | None) -> int:
    """Parse and store a bulk body off the event loop, so SSE streams keep flowing meanwhile."""
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in (*_NDJSON_TYPES, "application/json", "text/json", ""):
        raise InvalidInput(
            [Problem("", f"send application/json or application/x-ndjson, not {content_type}")]
        )

    def parse_and_append() -> int:
        records: Any = parse_ndjson(body) if content_type in _NDJSON_TYPES else parse_json_body(body)
        return app.telemetry.append(records_to_readings(records, twin_id))

    return await run_in_threadpool(parse_and_append)


@router.post("/twins/{twin_id}/telemetry", summary="Append readings of one twin", openapi_extra=_BODY_DOC)
async def post_twin_telemetry(
    twin_id: str,
    request: Request,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}/telemetry")),
) -> Response:
    count = await _append_body(request, app, twin_id)
    return json_response({"accepted": count}, status_code=202)


@router.post(
    "/telemetry",
    summary="Append readings of many twins (each record names its twinId)",
    openapi_extra=_BODY_DOC,
)
async def post_telemetry(
    request: Request,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "telemetry")),
) -> Response:
    count = await _append_body(request, app, None)
    return json_response({"accepted": count}, status_code=202)


@router.get("/twins/{twin_id}/telemetry", summary="Telemetry history: raw, or bucketed with aggregates")
def get_twin_telemetry(
    twin_id: str,
    name: Annotated[str | None, Query(description="telemetry name; omit to list the twin's series")] = None,
    start: Annotated[str | None, Query(alias="from", description="ISO 8601 or epoch ms, inclusive")] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601 or epoch ms, exclusive")] = None,
    bucket: Annotated[str | None, Query(description="bucket size, e.g. 1m, 15min, 1h, PT5M")] = None,
    agg: Annotated[str | None, Query(description="with a bucket: avg,min,max,sum,count,first,last")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 10_000,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "twins/{twin_id}/telemetry")),
) -> Response:
    app.twins.get(twin_id)
    if name is None:
        latest = app.telemetry.latest(twin_id)
        series = [
            {"name": n, "latest": {"ts": format_timestamp(r.ts), "value": r.value, "quality": r.quality}}
            for n, r in sorted(latest.items())
        ]
        return json_response({"twinId": twin_id, "value": series})
    aggs = [a.strip() for a in agg.split(",") if a.strip()] if agg else None
    unknown = [a for a in aggs or [] if a not in AGGREGATIONS]
    if unknown:
        raise InvalidInput([Problem("/agg", f"unknown aggregate {unknown}; use {', '.join(AGGREGATIONS)}")])
    history = app.telemetry.history(twin_id, name, start, end, bucket, aggs, limit)
    body = history.to_json()
    body["bucket"] = bucket
    if bucket is None and len(history) == limit:
        body["next"] = format_timestamp(int(history.columns["ts"][-1]) + 1)
    return json_response(body)
