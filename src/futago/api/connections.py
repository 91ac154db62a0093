"""/connections and /dead-letters: run connectors, and see and replay what could not be ingested."""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.deps import SQL_MAX, JSONRoute, RowId, get_app, json_response
from futago.app import App
from futago.core.dead_letters import DeadLetter
from futago.core.errors import InvalidInput, NotFound
from futago.core.problems import Problem
from futago.ingest.mapping import RawMessage

router = APIRouter(tags=["ingest"], route_class=JSONRoute)


@router.get("/connections", summary="List connections with their state and counters (secrets are masked)")
def list_connections(app: App = Depends(get_app), access: Access = Depends(require("READ", "connections"))) -> Response:
    return json_response({"value": app.connections.list()})


@router.put("/connections/{name}", summary="Create or replace a connection (restarts it when running)")
def put_connection(
    name: str,
    config: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "type": "mqtt",
                    "options": {"host": "127.0.0.1", "port": 1883},
                    "mappings": [
                        {
                            "source": "city/river/{station}/level",
                            "twin": "river-{station}",
                            "telemetry": "waterLevel",
                            "format": "json",
                            "value": "level",
                            "timestamp": "time",
                        }
                    ],
                }
            ]
        ),
    ],
    app: App = Depends(get_app),
    access: Access = Depends(require("ADMIN", "connections/{name}")),
) -> Response:
    app.connections.put(name, config)
    return json_response(app.connections.describe(name))


@router.get("/connections/{name}", summary="A connection's settings, state and counters")
def get_connection(
    name: str, app: App = Depends(get_app), access: Access = Depends(require("READ", "connections/{name}"))
) -> Response:
    return json_response(app.connections.describe(name))


@router.post("/connections/{name}/start", summary="Start a stopped connection")
def start_connection(
    name: str, app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "connections/{name}"))
) -> Response:
    app.connections.start(name)
    return json_response(app.connections.describe(name))


@router.post("/connections/{name}/stop", summary="Stop a running connection")
def stop_connection(
    name: str, app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "connections/{name}"))
) -> Response:
    app.connections.stop(name)
    return json_response(app.connections.describe(name))


@router.delete("/connections/{name}", status_code=204, summary="Stop and delete a connection")
def delete_connection(
    name: str, app: App = Depends(get_app), access: Access = Depends(require("ADMIN", "connections/{name}"))
) -> Response:
    app.connections.delete(name)
    return Response(status_code=204)


def _letter_json(letter: DeadLetter) -> dict[str, Any]:
    try:
        payload: dict[str, str] = {"payload": letter.payload.decode("utf-8")}
    except UnicodeDecodeError:
        payload = {"payloadBase64": base64.b64encode(letter.payload).decode()}
    return {
        "id": letter.id,
        "connection": letter.connection,
        "source": letter.source,
        "received": letter.received,
        "reason": letter.reason,
        "pointer": letter.pointer,
        **payload,
    }


@router.get("/dead-letters", summary="Messages that could not become readings, with the reason")
def list_dead_letters(
    connection: str | None = None,
    after: Annotated[int | None, Query(ge=0, le=SQL_MAX, description="resume after this id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "dead-letters")),
) -> Response:
    letters = app.store.list_dead_letters(connection, after, limit)
    body: dict[str, Any] = {
        "value": [_letter_json(d) for d in letters],
        "counts": app.store.count_dead_letters(),
    }
    if len(letters) == limit:
        body["next"] = letters[-1].id
    return json_response(body)


class ReplayRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=SQL_MAX)]] = Field(
        min_length=1, max_length=10_000, description="dead letters to replay"
    )


@router.post("/dead-letters/replay", summary="Run dead letters through their connection's mapping again")
def replay_dead_letters(
    request: ReplayRequest,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "dead-letters")),
) -> Response:
    """Each replayed letter is removed; one that fails again comes back as a new dead letter."""
    letters = app.store.get_dead_letters(request.ids)
    missing = sorted(set(request.ids) - {d.id for d in letters if d.id is not None})
    if missing:
        raise InvalidInput([Problem("/ids", f"no dead letters with ids {missing[:20]}")])
    outcomes: list[dict[str, Any]] = []
    now_us = time.time_ns() // 1000
    for letter in letters:
        spec = app.connections.spec(letter.connection)
        result = app.ingest.ingest(letter.connection, spec.mapper, [RawMessage(letter.source, letter.payload, now_us)])
        outcomes.append({"id": letter.id, "stored": result.stored, "deadLetters": [d.reason for d in result.dead]})
    app.store.delete_dead_letters(request.ids)
    return json_response({"value": outcomes})


@router.delete("/dead-letters/{letter_id}", status_code=204, summary="Discard a dead letter")
def delete_dead_letter(
    letter_id: RowId, app: App = Depends(get_app), access: Access = Depends(require("WRITE", "dead-letters"))
) -> Response:
    if app.store.delete_dead_letters([letter_id]) == 0:
        raise NotFound(f"dead letter {letter_id} does not exist")
    return Response(status_code=204)
