"""/connections and /dead-letters: run connectors, and see and replay what could not be ingested."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Connection, Connections, DeadLetterRecord, DeadLetters, ReplayOutcomes
from futago.api.bodies import ConnectionRequest, described_by
from futago.api.deps import SQL_MAX, JSONRoute, RowId, json_response
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import connection_manager, dead_letter_service
from futago.core.dead_letters import DeadLetter
from futago.ingest.connections import ConnectionManager
from futago.services.dead_letters import DeadLetterService

router = APIRouter(tags=["ingest"], route_class=JSONRoute)
ConnectionsOfServer = Annotated[ConnectionManager, Depends(connection_manager)]
IngestDeadLetters = Annotated[DeadLetterService, Depends(dead_letter_service)]


@router.get(
    "/connections",
    summary="List connections with their state and counters (secrets are masked)",
    response_model=Connections,
)
def list_connections(
    connections: ConnectionsOfServer, access: Access = Depends(require("READ", "connections"))
) -> Response:
    return json_response({"value": connections.list()})


@router.put(
    "/connections/{name}",
    summary="Create or replace a connection (restarts it when running)",
    response_model=Connection,
)
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
        described_by(ConnectionRequest),
    ],
    connections: ConnectionManager = Depends(connection_manager),
    access: Access = Depends(require("ADMIN", "connections/{name}")),
) -> Response:
    connections.put(name, config)
    return json_response(connections.describe(name))


@router.get("/connections/{name}", summary="A connection's settings, state and counters", response_model=Connection)
def get_connection(
    name: str, connections: ConnectionsOfServer, access: Access = Depends(require("READ", "connections/{name}"))
) -> Response:
    return json_response(connections.describe(name))


def _at_the_leader(connections: ConnectionManager, action: str, name: str) -> Response | None:
    """Scaled out, connectors run in the leading process: from any other, the action goes to the leader and its
    answer comes back (its refusal too, with its status). None: this process answers (it leads, or none does)."""
    if connections.runs_connectors or connections.leader_call is None:
        return None
    described = connections.leader_call(action, name)
    return None if described is None else json_response(described)


@router.post("/connections/{name}/start", summary="Start a stopped connection", response_model=Connection)
def start_connection(
    name: str,
    connections: ConnectionsOfServer,
    access: Access = Depends(require("ADMIN", "connections/{name}")),
) -> Response:
    forwarded = _at_the_leader(connections, "start", name)
    if forwarded is not None:
        return forwarded
    connections.start(name)
    return json_response(connections.describe(name))


@router.post("/connections/{name}/stop", summary="Stop a running connection", response_model=Connection)
def stop_connection(
    name: str,
    connections: ConnectionsOfServer,
    access: Access = Depends(require("ADMIN", "connections/{name}")),
) -> Response:
    forwarded = _at_the_leader(connections, "stop", name)
    if forwarded is not None:
        return forwarded
    connections.stop(name)
    return json_response(connections.describe(name))


@router.delete("/connections/{name}", summary="Stop and delete a connection", **deleted_answers(Connection))
def delete_connection(
    name: str,
    connections: ConnectionsOfServer,
    access: Access = Depends(require("ADMIN", "connections/{name}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: connections.describe(name))  # as GET: secrets masked
    connections.delete(name)
    return prefer.answer(before)


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


@router.get(
    "/dead-letters", summary="Messages that could not become readings, with the reason", response_model=DeadLetters
)
def list_dead_letters(
    dead_letters: IngestDeadLetters,
    connection: str | None = None,
    after: Annotated[int | None, Query(ge=0, le=SQL_MAX, description="resume after this id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    access: Access = Depends(require("READ", "dead-letters")),
) -> Response:
    letters = dead_letters.letters(connection, after, limit)
    body: dict[str, Any] = {"value": [_letter_json(d) for d in letters], "counts": dead_letters.counts()}
    if len(letters) == limit:
        body["next"] = letters[-1].id
    return json_response(body)


class ReplayRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=SQL_MAX)]] = Field(
        min_length=1, max_length=10_000, description="dead letters to replay"
    )


@router.post(
    "/dead-letters/replay",
    summary="Run dead letters through their connection's mapping again",
    response_model=ReplayOutcomes,
)
def replay_dead_letters(
    request: ReplayRequest, dead_letters: IngestDeadLetters, access: Access = Depends(require("WRITE", "dead-letters"))
) -> Response:
    """Each replayed letter is removed; one that fails again comes back as a new dead letter."""
    return json_response({"value": [outcome.to_json() for outcome in dead_letters.replay(request.ids)]})


@router.delete("/dead-letters/{letter_id}", summary="Discard a dead letter", **deleted_answers(DeadLetterRecord))
def delete_dead_letter(
    letter_id: RowId,
    dead_letters: IngestDeadLetters,
    access: Access = Depends(require("WRITE", "dead-letters")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _letter_json(dead_letters.letter(letter_id)))  # as GET /dead-letters lists it
    dead_letters.discard(letter_id)
    return prefer.answer(before)
