"""/commands and /command-bindings: request, approve and reject commands, read their audit, bind them to devices.

A command's outcome can take a while (the device answers within its transport's timeout), so the routes that may
send wait up to ``wait`` seconds for it: 200/201 with the final record, or 202 with the record still in flight
(``approved`` or ``sent``), to be followed at ``GET /commands/{id}`` or on ``/events``.

A command is about its twin: a caller who may not read the twin does not see the command, in lists, by id or on
/events; its evidence (the alert behind a rule's proposal) is shown as that alert is (``command_as_seen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from futago.act.commands import FINAL, STATES, CommandService
from futago.api.access import Access, require
from futago.api.alerts import alert_as_seen
from futago.api.answers import CommandBinding, CommandBindings, CommandRecord, Commands
from futago.api.bodies import ApprovalRequest, BindingRequest, CommandRequest, RejectionRequest, described_by
from futago.api.deps import ACCEPTED, CREATED, JSONRoute, json_response
from futago.api.paging import newest_visible
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import command_service
from futago.core.errors import InvalidInput
from futago.core.events import telemetry_resource, twin_resource
from futago.core.problems import Problem

router = APIRouter(tags=["commands"], route_class=JSONRoute)

Wait = Annotated[
    float,
    Query(ge=0, le=60, allow_inf_nan=False, description="seconds to wait for the device's answer before a 202"),
]
_REQUEST_EXAMPLE = {"payload": {"percent": 0}, "note": "closing ahead of the forecast peak"}
_BINDING_EXAMPLE = {
    "mode": "recommend",
    "transport": {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/{command}", "timeout": "10s"},
    "envelope": {
        "field": "percent",
        "min": 0,
        "max": 100,
        "max_step": 50,
        "rate_limit": "2/5m",
        "interlocks": [{"telemetry": "flow", "above": 5}],
    },
    "expires": "30m",
}


def _fields(body: dict[str, Any] | None, allowed: dict[str, str]) -> dict[str, Any]:
    """The body's known fields; unknown ones, and a non-string ``note`` or ``reason``, are 422s with pointers."""
    body = body or {}
    problems = [Problem(f"/{k}", f"unknown field; use {sorted(allowed)}") for k in body if k not in allowed]
    for key, kind in allowed.items():
        if kind == "text" and body.get(key) is not None and not isinstance(body[key], str):
            problems.append(Problem(f"/{key}", f"'{key}' is a string"))
    if problems:
        raise InvalidInput(problems)
    return body


def command_resources(record: Mapping[str, Any]) -> tuple[str, ...]:
    """What a command record is about, as its events name it (act.commands): its twin and itself."""
    twin_id, command_id = record.get("twinId"), record.get("id")
    return (twin_resource(twin_id), f"commands/{command_id}") if twin_id and command_id else ()


def command_as_seen(access: Access, record: dict[str, Any]) -> dict[str, Any] | None:
    """The record as this caller may see it: None unless it may read what the command is about; its evidence, a
    snapshot of the alert behind it (act.engine), as that alert is shown, and other evidence (readings behind it)
    only with READ on the twin's telemetry. The same for REST answers and /events."""
    if access.principal.admin:
        return record
    if not access.may_see(command_resources(record)):
        return None
    evidence = record.get("evidence") or {}
    if not evidence:
        return record
    if "rule" in evidence and "twinId" in evidence:  # an alert: it may be about another twin than the command
        shown = alert_as_seen(access, evidence) or {}
    else:
        shown = evidence if access.may("READ", telemetry_resource(record["twinId"])) else {}
    return {**record, "evidence": shown}


def _visible(commands: CommandService, access: Access, command_id: str) -> dict[str, Any]:
    """The record named in the path; one the caller may not see (about a twin it may not read) is missing, in the
    same words as one that does not exist."""
    record = commands.get(command_id)
    access.must_see(command_resources(record), f"command '{command_id}' does not exist")
    return record


def _shown(access: Access, record: dict[str, Any]) -> dict[str, Any]:
    """A record ``_visible`` let through, as the caller may see it."""
    return command_as_seen(access, record) or {}


def _answer(record: dict[str, Any], done_status: int = 200, headers: dict[str, str] | None = None) -> Response:
    in_flight = record["state"] not in FINAL and record["state"] != "proposed"
    return json_response(record, status_code=202 if in_flight else done_status, headers=headers)


@router.get("/commands", summary="Commands, newest first: filter by state, twin and command", response_model=Commands)
def list_commands(
    state: Annotated[str | None, Query(description=" | ".join(STATES))] = None,
    twin: Annotated[str | None, Query()] = None,
    command: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("READ", "commands")),
) -> Response:
    # the newest ``limit`` commands the caller may see, not the newest ``limit`` filtered (futago.api.paging)
    records = newest_visible(
        lambda n: commands.list_commands(state, twin, command, n), lambda r: command_as_seen(access, r), limit
    )
    return json_response({"value": records})


@router.get(
    "/commands/{command_id}",
    summary="One command with its audit: proposal, approval, what was sent, answer",
    response_model=CommandRecord,
)
def get_command(
    command_id: str,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("READ", "commands/{command_id}")),
) -> Response:
    return json_response(_shown(access, _visible(commands, access, command_id)))


@router.post(
    "/twins/{twin_id}/commands/{command}",
    status_code=201,
    summary="Request a command: it goes through the binding's mode (recommend waits for approval) and envelope",
    responses={**CREATED, **ACCEPTED},
    response_model=CommandRecord,
)
def request_command(
    twin_id: str,
    command: str,
    body: Annotated[dict[str, Any], Body(examples=[_REQUEST_EXAMPLE]), described_by(CommandRequest)],
    wait: Wait = 5.0,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("COMMAND", "twins/{twin_id}/commands/{command}")),
) -> Response:
    fields = _fields(body, {"payload": "any", "note": "text"})
    record = commands.request(twin_id, command, fields.get("payload"), access.caller, fields.get("note"))
    record = commands.wait(record["id"], wait)
    return _answer(record, 201, {"Location": f"/commands/{record['id']}"})


@router.post(
    "/commands/{command_id}/approve",
    summary="Approve a proposed command: the envelope is checked again",
    responses=ACCEPTED,
    response_model=CommandRecord,
)
def approve_command(
    command_id: str,
    body: Annotated[
        dict[str, Any] | None, Body(examples=[{"note": "checked the gate camera"}]), described_by(ApprovalRequest)
    ] = None,
    wait: Wait = 5.0,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("COMMAND", "commands/{command_id}")),
) -> Response:
    note = _fields(body, {"note": "text"}).get("note")
    _visible(commands, access, command_id)
    record = commands.approve(command_id, access.caller, note)
    return _answer(_shown(access, commands.wait(record["id"], wait)))


@router.post(
    "/commands/{command_id}/reject", summary="Reject a proposed command, with a reason", response_model=CommandRecord
)
def reject_command(
    command_id: str,
    body: Annotated[
        dict[str, Any] | None, Body(examples=[{"reason": "the gate crew is on site"}]), described_by(RejectionRequest)
    ] = None,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("COMMAND", "commands/{command_id}")),
) -> Response:
    reason = _fields(body, {"reason": "text"}).get("reason")
    _visible(commands, access, command_id)
    return json_response(_shown(access, commands.reject(command_id, access.caller, reason)))


@router.get(
    "/command-bindings",
    summary="How each twin's commands are sent: transport, mode and safety envelope",
    response_model=CommandBindings,
)
def list_bindings(
    twin: Annotated[str | None, Query()] = None,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("READ", "command-bindings")),
) -> Response:
    bindings = [b.to_json() for b in commands.bindings() if twin is None or b.twin_id == twin]
    return json_response({"value": bindings})


@router.get("/command-bindings/{twin_id}/{command}", summary="One command binding", response_model=CommandBinding)
def get_binding(
    twin_id: str,
    command: str,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("READ", "command-bindings/{twin_id}/{command}")),
) -> Response:
    return json_response(commands.binding(twin_id, command).to_json())


@router.put(
    "/command-bindings/{twin_id}/{command}",
    summary="Create (201) or replace (200) a command binding",
    responses=CREATED,
    response_model=CommandBinding,
)
def put_binding(
    twin_id: str,
    command: str,
    body: Annotated[dict[str, Any], Body(examples=[_BINDING_EXAMPLE]), described_by(BindingRequest)],
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("ADMIN", "command-bindings/{twin_id}/{command}")),
) -> Response:
    binding, created = commands.put_binding(twin_id, command, body)
    headers = {"Location": f"/command-bindings/{twin_id}/{command}"} if created else None
    return json_response(binding.to_json(), status_code=201 if created else 200, headers=headers)


@router.delete(
    "/command-bindings/{twin_id}/{command}", summary="Delete a command binding", **deleted_answers(CommandBinding)
)
def delete_binding(
    twin_id: str,
    command: str,
    commands: CommandService = Depends(command_service),
    access: Access = Depends(require("ADMIN", "command-bindings/{twin_id}/{command}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: commands.binding(twin_id, command).to_json())
    commands.delete_binding(twin_id, command)
    return prefer.answer(before)
