"""/behaviours: attach models to twins, run them, see each run's provenance, try what-ifs (and their impact),
validate.

A run is about its twin: a caller who may not read the twin does not see its runs (nor the twin among those a
behaviour is attached to), and what-ifs and validations, which show the twin's readings, need READ on its telemetry;
a twin it may not read is answered as one the behaviour is not attached to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from futago.act.notify.service import NotificationService
from futago.api.access import Access, require
from futago.api.answers import Behaviour, Behaviours, Open, Runs
from futago.api.bodies import BehaviourRequest, ScenarioRequest, described_by
from futago.api.deps import CREATED, JSONRoute, json_response
from futago.api.paging import newest_visible
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import behaviour_runtime, notification_service, twin_service
from futago.core.errors import InvalidInput, NotFound
from futago.core.events import telemetry_resource, twin_resource
from futago.core.problems import Problem
from futago.core.telemetry import parse_timestamp
from futago.services.twins import TwinService
from futago.sim import scenario, validation
from futago.sim.runtime import BehaviourRuntime

router = APIRouter(tags=["behaviours"], route_class=JSONRoute)
Runtime = Annotated[BehaviourRuntime, Depends(behaviour_runtime)]

_EXAMPLE = {
    "model": "river_stage",
    "twins": ["river-1"],
    "inputs": {"rainfall": {"twin": "rain-1", "telemetry": "rainfall"}},
    "measured": "waterLevel",
    "step": "10m",
    "window": "24h",
    "horizon": "6h",
    "members": 1000,
    "trigger": {"every": "10m", "onReadings": True},
    "tolerances": {"rmse": 0.15, "nse": 0.8},
}


def _at(value: str | None, pointer: str) -> int:
    if value is None:
        return time.time_ns() // 1000
    try:
        return parse_timestamp(value)
    except (InvalidInput, ValueError) as exc:
        raise InvalidInput([Problem(pointer, f"not a timestamp: {value!r}")]) from exc


def run_resources(run: Mapping[str, Any]) -> tuple[str, ...]:
    """What a run record is about, as its events name it (sim.runtime): its twin and its behaviour."""
    twin_id, behaviour = run.get("twinId"), run.get("behaviour")
    return (twin_resource(twin_id), f"behaviours/{behaviour}") if twin_id and behaviour else ()


def _visible_runs(access: Access, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [run for run in runs if access.may_see(run_resources(run))]


def _require_visible(
    behaviours: BehaviourRuntime, access: Access, name: str, twin: str, of_twin: Callable[[str], str]
) -> None:
    """A twin the caller may not read (``of_twin``: the twin, or its telemetry for what shows its readings) is
    answered in the words the runtime uses for a twin the behaviour is not attached to; an unknown behaviour is
    still a 404, as for any caller."""
    if not access.may_see((of_twin(twin), f"behaviours/{name}")):
        behaviours.get(name)
        raise InvalidInput([Problem("/twin", f"behaviour '{name}' is not attached to twin '{twin}'")])


@router.get(
    "/behaviours", summary="List behaviours with their model, version and attached twins", response_model=Behaviours
)
def list_behaviours(behaviours: Runtime, access: Access = Depends(require("READ", "behaviours"))) -> Response:
    return json_response({"value": [spec.to_json() for spec in behaviours.all()]})


@router.put(
    "/behaviours/{name}",
    summary="Create (201) or replace (200) a behaviour",
    responses=CREATED,
    response_model=Behaviour,
)
def put_behaviour(
    name: str,
    body: Annotated[dict[str, Any], Body(examples=[_EXAMPLE]), described_by(BehaviourRequest)],
    behaviours: Runtime,
    access: Access = Depends(require("ADMIN", "behaviours/{name}")),
) -> Response:
    existed = name in {spec.name for spec in behaviours.all()}
    spec = behaviours.put(name, body)
    headers = None if existed else {"Location": f"/behaviours/{name}"}
    return json_response(spec.to_json(), status_code=200 if existed else 201, headers=headers)


@router.get("/behaviours/{name}", summary="A behaviour and the twins it runs for", response_model=Behaviour)
def get_behaviour(
    name: str, behaviours: Runtime, access: Access = Depends(require("READ", "behaviours/{name}"))
) -> Response:
    return json_response(_behaviour_as_seen(behaviours, access, name))


def _behaviour_as_seen(behaviours: BehaviourRuntime, access: Access, name: str) -> dict[str, Any]:
    """A behaviour with its source and the attached twins this caller may read."""
    spec = behaviours.get(name)
    twins = [t for t in behaviours.twins_of(spec) if access.may_read_twin(t)]
    return {**spec.to_json(), "source": behaviours.source(name), "attachedTwins": twins}


@router.delete("/behaviours/{name}", summary="Delete a behaviour (its outputs stay)", **deleted_answers(Behaviour))
def delete_behaviour(
    name: str,
    behaviours: Runtime,
    access: Access = Depends(require("ADMIN", "behaviours/{name}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _behaviour_as_seen(behaviours, access, name))
    behaviours.delete(name)
    return prefer.answer(before)


@router.post(
    "/behaviours/{name}/run", summary="Run a behaviour now, for one twin or all of its twins", response_model=Runs
)
def run_behaviour(
    name: str,
    behaviours: Runtime,
    twin: Annotated[str | None, Query(description="Only this twin")] = None,
    access: Access = Depends(require("WRITE", "behaviours/{name}")),
) -> Response:
    if twin is not None:
        _require_visible(behaviours, access, name, twin, twin_resource)
    return json_response({"value": _visible_runs(access, behaviours.run(name, twin))})


@router.get("/behaviours/{name}/runs", summary="Run records (provenance), newest first", response_model=Runs)
def list_runs(
    name: str,
    behaviours: Runtime,
    twin: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    access: Access = Depends(require("READ", "behaviours/{name}")),
) -> Response:
    # the newest ``limit`` runs the caller may see, not the newest ``limit`` filtered (futago.api.paging)
    seen = newest_visible(
        lambda n: behaviours.runs(name, twin, n), lambda run: run if access.may_see(run_resources(run)) else None, limit
    )
    return json_response({"value": seen})


@router.post(
    "/behaviours/{name}/scenarios",
    summary="What-if: a baseline and scenarios side by side (nothing is written)",
    response_model=Open,
)
def run_scenarios(
    name: str,
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "twin": "river-1",
                    "at": "2026-07-01T06:00:00Z",
                    "scenarios": [{"name": "rain x1.5", "inputs": {"rainfall": {"scale": 1.5}}}],
                    "impact": {"stage": "danger", "probability": 0.5, "relationship": "floodZones", "minDepth": 0.5},
                }
            ]
        ),
        described_by(ScenarioRequest),
    ],
    behaviours: Runtime,
    twins: TwinService = Depends(twin_service),
    notifications: NotificationService = Depends(notification_service),
    access: Access = Depends(require("READ", "behaviours/{name}")),
) -> Response:
    twin = body.get("twin")
    scenarios = body.get("scenarios", [])
    problems = []
    if not isinstance(twin, str):
        problems.append(Problem("/twin", "the twin to run the scenarios for"))
    if not isinstance(scenarios, list):
        problems.append(Problem("/scenarios", "a list of scenarios: {name, inputs, params, state}"))
    if problems:
        raise InvalidInput(problems)
    assert isinstance(twin, str)
    _require_visible(behaviours, access, name, twin, telemetry_resource)
    impact = None
    if body.get("impact") is not None:
        behaviours.get(name)  # an unknown behaviour is a 404 before the impact's zones are looked at
        spec = scenario.ImpactSpec.parse(body["impact"], notifications.settings.depth_threshold_m)
        impact = (spec, _area(twins, notifications, twin, spec))
    return json_response(scenario.compare(behaviours, name, twin, _at(body.get("at"), "/at"), scenarios, impact))


def _area(
    twins: TwinService, notifications: NotificationService, twin: str, spec: scenario.ImpactSpec
) -> scenario.AreaLookup:
    """The zones the twin's alerts would cover (as a rule's ``area: {relationship}``), and who lives in them."""
    try:
        zones = [r.target_id for r in twins.list_relationships(twin, spec.relationship)]
    except NotFound:  # no such twin: it has no relationship either, and is answered as one without them
        zones = []
    if not zones:
        message = f"twin '{twin}' has no '{spec.relationship}' relationship to the zones its floods would reach"
        raise InvalidInput([Problem("/impact/relationship", message)])

    def lookup() -> tuple[list[str], int]:
        affected = notifications.affected(zones, spec.min_depth)
        return affected.buildings, len(affected.residents)

    return lookup


@router.get(
    "/behaviours/{name}/validation",
    summary="Validation report: the behaviour against measurements",
    response_model=Open,
)
def validate(
    name: str,
    behaviours: Runtime,
    twin: Annotated[str, Query()],
    start: Annotated[str, Query(alias="from")],
    end: Annotated[str, Query(alias="to")],
    access: Access = Depends(require("READ", "behaviours/{name}")),
) -> Response:
    _require_visible(behaviours, access, name, twin, telemetry_resource)
    report = validation.validate_behaviour(behaviours, name, twin, _at(start, "/from"), _at(end, "/to"))
    return json_response(report.to_json(inline_plots=True))
