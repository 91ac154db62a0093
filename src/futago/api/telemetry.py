"""Telemetry in (bulk JSON or NDJSON) and history out (raw or bucketed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Accepted, Calibrations, Open, TelemetryAnswer
from futago.api.bodies import CalibrationRequest, ReadingRecord, described_by
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import telemetry_service, twin_service
from futago.core.errors import InvalidInput, TooManyRequests
from futago.core.problems import Problem
from futago.core.telemetry import AGGREGATIONS, SeriesBatch, format_timestamp
from futago.ingest.records import NdjsonStream, parse_json_body, records_to_readings, shift_rows
from futago.services.calibration import CalibrationService
from futago.services.telemetry import TelemetryService
from futago.services.twins import TwinService

router = APIRouter(tags=["telemetry"], route_class=JSONRoute)
# The bulk body is read by hand (it may be NDJSON, parsed as it streams), so its schema is written out here.
_READING = ReadingRecord.model_json_schema()
_READINGS = {"anyOf": [{"type": "array", "items": _READING}, _READING]}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _READINGS},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines")
#: NDJSON lines parsed and validated at a time: the memory of a body in hand is about this many parsed records.
BATCH_LINES = 5_000
_PIECE_BYTES = 256 * 1024


class BulkGate:
    """At most ``limit`` bulk bodies are read and parsed at once; one more is refused with 429 at once, not
    queued, so concurrent uploads cannot add up to the memory of many bodies. Its count lives on the event
    loop: nothing awaits between the check and the increment."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.busy >= self.limit > 0:
            raise TooManyRequests(
                f"{self.limit} bulk telemetry bodies are being ingested already; send this one again shortly", 1.0
            )
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1


async def _append_body(request: Request, telemetry: TelemetryService, twin_id: str | None) -> int:
    """Parse and store a bulk body off the event loop, so SSE streams keep flowing meanwhile."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in (*_NDJSON_TYPES, "application/json", "text/json", ""):
        raise InvalidInput([Problem("", f"send application/json or application/x-ndjson, not {content_type}")])
    gate: BulkGate = request.app.state.bulk_gate
    with gate.slot():
        if content_type in _NDJSON_TYPES:
            return await _append_ndjson(request, telemetry, twin_id)
        body = await request.body()
        return await run_in_threadpool(lambda: telemetry.append(records_to_readings(parse_json_body(body), twin_id)))


async def _append_ndjson(request: Request, telemetry: TelemetryService, twin_id: str | None) -> int:
    """Parse NDJSON as it arrives, a batch of lines at a time, into compact validated batches; store them only
    once the whole body is valid, so a bad line anywhere stores nothing, as with a body parsed whole."""
    stream = NdjsonStream(twin_id)
    prepared: list[list[SeriesBatch]] = []

    def prepare(lines: list[bytes]) -> None:
        readings = stream.readings(lines)
        try:
            prepared.append(telemetry.prepare(readings))
        except InvalidInput as exc:
            raise shift_rows(exc, stream.first_reading) from exc

    pending: list[bytes] = []
    async for data in request.stream():
        # A server hands the body over in network-sized chunks, but an in-process client may give it whole.
        for start in range(0, len(data), _PIECE_BYTES):
            pending += stream.feed(data[start : start + _PIECE_BYTES])
            if len(pending) >= BATCH_LINES:
                await run_in_threadpool(prepare, pending)
                pending = []
    await run_in_threadpool(prepare, pending + stream.finish())
    return await run_in_threadpool(lambda: sum(telemetry.append_batches(b) for b in prepared))


@router.post(
    "/twins/{twin_id}/telemetry",
    summary="Append readings of one twin",
    openapi_extra=_BODY_DOC,
    status_code=202,
    response_model=Accepted,
)
async def post_twin_telemetry(
    twin_id: str,
    request: Request,
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}/telemetry")),
) -> Response:
    count = await _append_body(request, telemetry, twin_id)
    return json_response({"accepted": count}, status_code=202)


@router.post(
    "/telemetry",
    summary="Append readings of many twins (each record names its twinId)",
    openapi_extra=_BODY_DOC,
    status_code=202,
    response_model=Accepted,
)
async def post_telemetry(
    request: Request,
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("WRITE", "telemetry")),
) -> Response:
    count = await _append_body(request, telemetry, None)
    return json_response({"accepted": count}, status_code=202)


@router.get(
    "/twins/{twin_id}/telemetry",
    summary="Telemetry history: raw, or bucketed with aggregates",
    response_model=TelemetryAnswer,
)
def get_twin_telemetry(
    twin_id: str,
    name: Annotated[str | None, Query(description="telemetry name; omit to list the twin's series")] = None,
    start: Annotated[str | None, Query(alias="from", description="ISO 8601 or epoch ms, inclusive")] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601 or epoch ms, exclusive")] = None,
    bucket: Annotated[str | None, Query(description="bucket size, e.g. 1m, 15min, 1h, PT5M")] = None,
    agg: Annotated[str | None, Query(description="with a bucket: avg,min,max,sum,count,first,last")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 10_000,
    min_quality: Annotated[
        int | None,
        Query(
            alias="minQuality",
            description="keep readings at least this good: 1 pass, 2 not evaluated, 3 suspect, 4 fail",
        ),
    ] = None,
    raw: Annotated[bool, Query(description="the raw values, before calibration")] = False,
    fill: Annotated[
        str | None, Query(description="fill gaps for analytics: linear or ffill (marked interpolated)")
    ] = None,
    interval: Annotated[str | None, Query(description="with fill: the expected spacing, e.g. 1m")] = None,
    max_gap: Annotated[str | None, Query(alias="maxGap", description="with fill: leave longer gaps empty")] = None,
    twins: TwinService = Depends(twin_service),
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("READ", "twins/{twin_id}/telemetry")),
) -> Response:
    twins.get(twin_id)
    if name is None:
        latest = telemetry.latest(twin_id)
        series = [
            {"name": n, "latest": {"ts": format_timestamp(r.ts), "value": r.value, "quality": r.quality}}
            for n, r in sorted(latest.items())
        ]
        return json_response({"twinId": twin_id, "value": series})
    aggs = [a.strip() for a in agg.split(",") if a.strip()] if agg else None
    unknown = [a for a in aggs or [] if a not in AGGREGATIONS]
    if unknown:
        raise InvalidInput([Problem("/agg", f"unknown aggregate {unknown}; use {', '.join(AGGREGATIONS)}")])
    history = telemetry.history(
        twin_id, name, start, end, bucket, aggs, limit, min_quality, raw, fill, interval, max_gap
    )
    body = history.to_json()
    body["bucket"] = bucket
    if bucket is None and len(history) == limit:
        body["next"] = format_timestamp(int(history.columns["ts"][-1]) + 1)
    return json_response(body)


@router.get(
    "/twins/{twin_id}/quality",
    summary="Quality flags of a telemetry: the stored flag and each QARTOD test",
    response_model=Open,
)
def get_twin_quality(
    twin_id: str,
    name: str,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    twins: TwinService = Depends(twin_service),
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("READ", "twins/{twin_id}/telemetry")),
) -> Response:
    twins.get(twin_id)
    return json_response(telemetry.quality(twin_id, name, start, end))


def _calibration_service(telemetry: TelemetryService) -> CalibrationService:
    service = telemetry.calibration
    assert service is not None  # always wired by the composition root
    return service


@router.get(
    "/twins/{twin_id}/telemetry/{name}/calibrations",
    summary="Calibrations of a sensor, and their history",
    response_model=Calibrations,
)
def list_calibrations(
    twin_id: str,
    name: str,
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("READ", "twins/{twin_id}/telemetry")),
) -> Response:
    telemetry.kind_of(twin_id, name)
    calibration = _calibration_service(telemetry)
    book = calibration.book(twin_id, name)
    return json_response({"value": [c.to_json() for c in book.records], "changes": calibration.changes(twin_id, name)})


@router.post(
    "/twins/{twin_id}/telemetry/{name}/calibrations",
    status_code=201,
    summary="Add a calibration (or correct one with 'supersedes'); stored values in its window are recomputed",
    response_model=Open,
)
def add_calibration(
    twin_id: str,
    name: str,
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "kind": "linear",
                    "gain": 1.02,
                    "offset": -0.05,
                    "validFrom": "2026-01-01T00:00:00Z",
                    "certificate": "JCSS-2026-0113",
                    "why": "annual calibration",
                }
            ]
        ),
        described_by(CalibrationRequest),
    ],
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}/telemetry")),
) -> Response:
    telemetry.kind_of(twin_id, name)
    record = {k: v for k, v in body.items() if k not in ("why", "supersedes")}
    supersedes = body.get("supersedes")
    action = "correct" if supersedes is not None else "add"
    if supersedes is not None:
        record["id"] = supersedes
    change = _calibration_service(telemetry).change(twin_id, name, action, access.caller, body.get("why", ""), record)
    return json_response(change.to_json(), status_code=201)


@router.delete(
    "/twins/{twin_id}/telemetry/{name}/calibrations/{calibration_id}",
    summary="Retire a calibration entered in error; its readings go back to their raw values",
    response_model=Open,
)
def retire_calibration(
    twin_id: str,
    name: str,
    calibration_id: str,
    why: Annotated[str, Query(min_length=1, description="why it is retired")],
    telemetry: TelemetryService = Depends(telemetry_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}/telemetry")),
) -> Response:
    telemetry.kind_of(twin_id, name)
    change = _calibration_service(telemetry).change(
        twin_id, name, "retire", access.caller, why, calibration_id=calibration_id
    )
    return json_response(change.to_json())
