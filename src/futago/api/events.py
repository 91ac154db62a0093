"""/events: every change, as Server-Sent Events, filtered by twin id, model and event type."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import StreamingResponse

from futago.api.access import Access, require
from futago.api.alerts import alert_as_seen
from futago.api.commands import command_as_seen
from futago.api.deps import JSONRoute
from futago.api.providers import api_services, event_bus, model_service
from futago.core.errors import Conflict
from futago.core.events import EVENT_TYPES, Event, EventBus, twin_resource
from futago.services.models import ModelService

router = APIRouter(tags=["events"], route_class=JSONRoute)
QUEUE_LIMIT = 10_000
_STREAM = "'id: <seq>', 'event: <type>' and 'data: <the event as JSON>' per event; keep-alive comments"
KEEPALIVE_S = 15.0
# Events whose data is a record the REST routes shape too: shaped here by the same function (None: not shown)
_SHAPED: dict[str, Callable[[Access, dict[str, Any]], dict[str, Any] | None]] = {
    "alert": alert_as_seen,
    "command": command_as_seen,
}


class EventRoutes(Protocol):
    """A scaled-out process's event relay (futago.scale.relay): it receives the other processes' events of these
    types and twins (any, when empty) until the returned function is called; and the roll-ups of these types."""

    def route(self, types: Iterable[str], twin_ids: Iterable[str]) -> Callable[[], None]: ...
    def watch_rollups(self, types: Iterable[str], deliver: Callable[[dict[str, Any]], None]) -> Callable[[], None]: ...


def event_routes(request: Request) -> EventRoutes | None:
    scale = getattr(api_services(request), "scale", None)
    routes: EventRoutes | None = getattr(scale, "relay", None)
    return routes


def _matcher(
    models_service: ModelService, twin_ids: set[str], models: set[str], types: set[str]
) -> Callable[[Event], bool]:
    """A predicate over events; a model filter matches its sub-models too."""

    def of_model(event_model: str | None) -> bool:
        if event_model is None:
            return False
        catalog = models_service.models
        if event_model not in catalog:
            return event_model in models
        return any(m in catalog and catalog.is_of_model(event_model, m) for m in models)

    def matches(event: Event) -> bool:
        if twin_ids and event.twin_id not in twin_ids:
            return False
        if types and event.type not in types and event.type.split(".")[0] not in types:
            return False
        return not models or of_model(event.model)

    return matches


@router.get(
    "/events",
    summary="Server-Sent Events of every change",
    description="Filters combine with AND; each may be repeated or comma-separated. "
    f"Event types: {', '.join(EVENT_TYPES)} (or a prefix such as 'twin'). "
    "A client too slow to keep up gets an 'overflow' event and is disconnected, "
    "rather than silently missing events. "
    "'rollup' (scaled out: [scale] nats) streams the per-type roll-ups instead, one 'rollup' event a second per "
    "type and publishing process (counts only: events, distinct twins); 'rollup=*' for every type. A roll-up "
    "counts over every twin, so a caller sees it only if it may READ 'rollups/<type>'.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string", "description": _STREAM}}}}},
)
async def events(
    request: Request,
    twin_id: Annotated[list[str] | None, Query(alias="twinId")] = None,
    model: Annotated[list[str] | None, Query()] = None,
    event_type: Annotated[list[str] | None, Query(alias="type")] = None,
    rollup: Annotated[list[str] | None, Query(max_length=200)] = None,
    models_service: ModelService = Depends(model_service),
    bus: EventBus = Depends(event_bus),
    routes: EventRoutes | None = Depends(event_routes),
    access: Access = Depends(require("READ", "events")),
) -> StreamingResponse:
    def split(values: list[str] | None) -> set[str]:
        return {v.strip() for value in values or [] for v in value.split(",") if v.strip()}

    if rollup is not None:
        return _rollups(request, access, routes, split(rollup) - {"*"})
    twins, types = split(twin_id), split(event_type)
    matches = _matcher(models_service, twins, split(model), types)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    def deliver(event: Event) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueFull):
                queue.get_nowait()
                queue.put_nowait(None)  # tells the stream it fell behind

    def on_event(event: Event) -> None:
        if matches(event):
            visible = _as_seen_by(access, event)
            if visible is not None:
                loop.call_soon_threadsafe(deliver, visible)

    unsubscribe = bus.subscribe(on_event)
    # Scaled out: the other processes' events of these types and twins reach this process while the stream lasts
    unroute = routes.route(types, twins) if routes is not None else None

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                if event is None:
                    yield b'event: overflow\ndata: {"detail": "the client fell behind; reconnect"}\n\n'
                    return
                data = orjson.dumps(event.to_json())
                yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.type.encode(), data)
        finally:
            unsubscribe()
            if unroute is not None:
                unroute()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def rollup_resource(event_type: str) -> str:
    """A roll-up as a policy path: what a caller must be granted READ on to see the roll-ups of ``event_type``."""
    return f"rollups/{event_type}"


def _rollups(request: Request, access: Access, routes: EventRoutes | None, types: set[str]) -> StreamingResponse:
    """The roll-ups of these types (any, when empty) from every process, as 'rollup' events. A roll-up names no
    twin but counts them all: it is about ``rollups/<type>`` (the one rule, ``Access.may_see``), a path granted to
    who may know city-wide counts (a dashboard's key); one a caller may not see is left out, as any event is."""
    if routes is None:
        raise Conflict("roll-ups come from the processes of a scaled-out deployment ([scale] nats); this one is alone")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    def deliver(doc: dict[str, Any]) -> None:  # on the NATS link's thread
        kind = doc.get("type")
        if isinstance(kind, str) and access.may_see([rollup_resource(kind)]):
            loop.call_soon_threadsafe(_offer, queue, doc)

    release = routes.watch_rollups(types, deliver)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                try:
                    doc = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: rollup\ndata: %s\n\n" % orjson.dumps(doc)
        finally:
            release()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _offer(queue: asyncio.Queue[dict[str, Any]], doc: dict[str, Any]) -> None:
    """A roll-up is a summary: one a slow client has no room for is dropped (the next second's replaces it)."""
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(doc)


def _as_seen_by(access: Access, event: Event) -> Event | None:
    """The event as the caller may see it: none unless it may read every resource the event is about (its twin or
    the twin's telemetry, the other end of a relationship, the alert, command, delivery or model; see
    core.events.CONCERNS), and so none that names nothing; a twin change without its data when some of the twin's
    properties are hidden from it. The same policies answer GET /twins/{id}, /alerts/{id}, /models/{id}, ..."""
    if access.principal.admin:
        return event
    if not access.may_see(event.resources()):
        return None
    shape = _SHAPED.get(event.type.split(".")[0])
    if shape is not None:
        data = shape(access, event.data)
        return None if data is None else dataclasses.replace(event, data=data)
    if event.type.startswith("twin.") and event.twin_id is not None:
        restricted = access.security.policies().restricted_below
        if restricted(access.principal.subjects, "READ", twin_resource(event.twin_id)):
            return dataclasses.replace(event, data={})
    return event
