"""What-if scenarios: run a behaviour on overridden inputs and parameters, never touching live state.

A scenario starts from the twin as it is at ``at`` (its history up to then, assimilated as a live run would),
or from an explicit model ``state``, and changes what happens next: scale, shift or set an input over the
horizon (rainfall ×1.5, a valve closed), or move a parameter (a setpoint). Nothing is written, and a fitted
detector's live state is copied, not shared. ``compare`` runs a baseline and any number of scenarios on the
same inputs and lays the results side by side; given an ``ImpactSpec``, it also says for each whether the river
reaches a warning stage, and then which buildings and how many residents the flood would reach.

Scenarios are independent once the inputs are gathered, so ``compare`` and ``sweep`` hand them to a ``mapper``:
the built-in ``map``, or a Dask client's (``futago.sim.distributed``) for a batch spread over a cluster. Every
scenario is checked before any runs, and the answers come back in the order given, the same wherever they ran.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from futago.analytics.protocol import Model
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord
from futago.core.telemetry import format_timestamp
from futago.core.validation import Checker
from futago.sim.behaviours import BehaviourSpec
from futago.sim.flood import STAGES
from futago.sim.runners import RunInputs, RunOutput
from futago.sim.runtime import BehaviourRuntime, evaluate
from futago.sim.simulator import Simulator
from futago.sim.validation import model_errors

OPERATIONS = ("scale", "add", "set")
_STAGE = f"a warning stage: one of {', '.join(STAGES)}"
_PROBABILITY = "probability is a number from 0 to 1"
_MIN_DEPTH = "minDepth is a number of metres from 0 to 100"
# Scenario times stay where every step of the window and horizon can be stored and formatted.
MIN_AT_US = 0
MAX_AT_US = 221_845_392_000_000_000  # 9000-01-01


MAX_SCENARIOS = 16  # per API request
MAX_SWEEP = 1024  # per batch sweep (the CLI's), which may run on a cluster

#: Runs prepared scenarios: ``map(fn, *iterables)`` with the answers in input order (built-in, or Dask's).
Mapper = Callable[..., Iterable[Any]]

#: The buildings in the flooded area (sorted ids) and how many residents live in them.
AreaLookup = Callable[[], tuple[list[str], int]]


@dataclass(frozen=True)
class ImpactSpec(JsonRecord):
    """``"impact"`` of a scenario request: a scenario floods when P(reaching ``stage`` within the horizon) is at
    least ``probability`` — the test a flood rule applies — and then reaches the buildings of the zones linked
    to the twin by ``relationship`` where the planned depth is at least ``min_depth`` metres."""

    stage: str = "danger"
    probability: float = 0.5
    relationship: str = "floodZones"
    min_depth: float = 0.5

    @classmethod
    def parse(cls, value: Any, default_min_depth: float, pointer: str = "/impact") -> ImpactSpec:
        if not isinstance(value, Mapping):
            raise InvalidInput([Problem(pointer, "impact is an object: {stage, probability, relationship, minDepth}")])
        keys = ("stage", "probability", "relationship", "minDepth")
        check = Checker(pointer)
        check.keys(value, keys, message=f"unknown key; use {', '.join(keys)}")
        stage = check.choice(value, "stage", STAGES, default=cls.stage, message=_STAGE)
        relationship = value.get("relationship", cls.relationship)
        if not isinstance(relationship, str) or not relationship or len(relationship) > 256:
            check.add(f"{pointer}/relationship", "the name of the twin's relationship to its zones")
        probability = check.number(value, "probability", low=0, high=1.0, default=cls.probability, message=_PROBABILITY)
        min_depth = check.number(value, "minDepth", low=0, high=100.0, default=default_min_depth, message=_MIN_DEPTH)
        check.raise_if_any()
        return cls(stage, probability, relationship, min_depth)

    def assess(self, summary: Mapping[str, Any], area: AreaLookup) -> dict[str, Any]:
        """The scenario's probability of reaching the stage, whether that floods, and whom it reaches."""
        exceedance = summary.get("exceedance")
        if not isinstance(exceedance, Mapping) or self.stage not in exceedance:
            known = sorted(exceedance) if isinstance(exceedance, Mapping) else []
            why = f"it gives {', '.join(known)}" if known else "the twin declares no warning levels, or no ensemble ran"
            raise InvalidInput(
                [Problem("/impact/stage", f"the forecast gives no probability of '{self.stage}': {why}")]
            )
        probability = float(exceedance[self.stage])
        flooded = probability >= self.probability
        buildings, residents = area() if flooded else ([], 0)
        return {
            "stage": self.stage,
            "probability": probability,
            "flooded": flooded,
            "buildings": buildings,
            "buildingCount": len(buildings),
            "residents": residents,
        }


def apply_overrides(inputs: RunInputs, columns: Sequence[str], overrides: Any, pointer: str) -> RunInputs:
    """Future inputs with each override applied: ``{"rainfall": {"scale": 1.5}}``, ``{"valve": {"set": 0}}``."""
    if not isinstance(overrides, Mapping):
        raise InvalidInput([Problem(pointer, 'inputs maps input names to {"scale" | "add" | "set": number}')])
    future = inputs.future_X.copy()
    check = Checker(pointer)
    for column, change in overrides.items():
        if column not in columns:
            check.add(f"{pointer}/{column}", f"no input '{column}'; the inputs are {list(columns)}")
            continue
        if not isinstance(change, Mapping) or len(change) != 1 or next(iter(change)) not in OPERATIONS:
            check.add(f"{pointer}/{column}", 'an override is one of {"scale": x}, {"add": x}, {"set": x}')
            continue
        ((operation, value),) = change.items()
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            check.add(f"{pointer}/{column}/{operation}", "an override value is a finite number")
            continue
        j = list(columns).index(column)
        if operation == "scale":
            future[:, j] *= value
        elif operation == "add":
            future[:, j] += value
        else:
            future[:, j] = value
    check.raise_if_any()
    return replace(inputs, future_X=future)


def _overridden_model(spec: BehaviourSpec, scenario: Mapping[str, Any], pointer: str) -> Model:
    """The behaviour's model with the scenario's parameters and start state. Only numeric parameters may change
    (a setpoint, a coefficient): a scenario is a question about the physics, never a way to point the server at
    another file."""
    model = spec.build_model()
    params = scenario.get("params", {})
    if not isinstance(params, Mapping):
        raise InvalidInput([Problem(f"{pointer}/params", "params maps numeric parameter names to numbers")])
    check = Checker(f"{pointer}/params")
    for key, value in params.items():
        current = getattr(model, key, None) if key in model.param_names() else None
        if isinstance(current, bool) or not isinstance(current, int | float):
            check.add(f"{pointer}/params/{key}", f"{spec.model} has no numeric parameter '{key}'")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            check.add(f"{pointer}/params/{key}", "a parameter override is a finite number")
    check.raise_if_any()
    if params:
        model = copy.deepcopy(model).set_params(**params)
    if "state" in scenario:
        if not isinstance(model, Simulator):
            raise InvalidInput([Problem(f"{pointer}/state", f"{spec.model} has no state to start from")])
        shape = np.shape(model.initial_state())
        try:
            state = np.asarray(scenario["state"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInput([Problem(f"{pointer}/state", "a state is a list of numbers")]) from exc
        if state.shape != shape or not np.isfinite(state).all():
            raise InvalidInput([Problem(f"{pointer}/state", f"{spec.model}'s state is {shape[0]} finite numbers")])
        model.set_state(state)
    return model


@dataclass(frozen=True)
class _Prepared:
    """A checked scenario, ready to run anywhere: everything it needs travels with it (no store, no runtime)."""

    name: Any
    overrides: dict[str, Any]
    spec: BehaviourSpec
    model: Model
    inputs: RunInputs
    state: dict[str, Any]
    pointer: str


def _prepare(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenario: Mapping[str, Any],
    base_inputs: RunInputs | None, pointer: str,
) -> _Prepared:  # fmt: skip
    spec = runtime.get(behaviour)
    if not isinstance(scenario, Mapping):
        raise InvalidInput([Problem(pointer or "/", "a scenario is an object: {name, inputs, params, state}")])
    check = Checker(pointer)
    check.keys(scenario, ("name", "inputs", "params", "state"), message="a scenario has name, inputs, params and state")
    check.raise_if_any()
    model = _overridden_model(spec, scenario, pointer)
    inputs = base_inputs or runtime.gather(spec, twin_id, at_us - spec.window_us, at_us)
    inputs = apply_overrides(inputs, list(spec.inputs), scenario.get("inputs", {}), f"{pointer}/inputs")
    # A detector's live state is its fitted self: changed parameters need a fresh one, fitted in the scenario.
    state = {} if scenario.get("params") else runtime.live_state(behaviour, twin_id)
    overrides = {k: scenario[k] for k in ("inputs", "params", "state") if k in scenario}
    return _Prepared(scenario.get("name", "scenario"), overrides, spec, model, inputs, state, pointer)


def _run_prepared(prepared: _Prepared, mapper: Callable[..., Iterable[Any]] = map) -> dict[str, Any]:
    """One prepared scenario, in this process or on a Dask worker: the same path as ``BehaviourRuntime.compute``.
    ``mapper`` runs its ensemble's chunks (on a worker, the built-in ``map``: Dask tasks do not nest)."""
    with model_errors(f"{prepared.pointer}/params"):
        output, _ = evaluate(prepared.spec, prepared.model, prepared.inputs, prepared.state, mapper)
    return {"name": prepared.name, "overrides": prepared.overrides, **_result(output)}


def run_scenario(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenario: Mapping[str, Any],
    base_inputs: RunInputs | None = None, pointer: str = "",
) -> dict[str, Any]:  # fmt: skip
    """One scenario: ``{"name", "inputs": {col: {op: x}}, "params": {name: x}, "state": [..]}``."""
    prepared = _prepare(runtime, behaviour, twin_id, at_us, scenario, base_inputs, pointer)
    return _run_prepared(prepared, runtime.ensemble_mapper)


def run_batch(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenarios: Sequence[Mapping[str, Any]],
    base_inputs: RunInputs | None = None, mapper: Mapper = map, pointer: str = "/scenarios",
) -> list[dict[str, Any]]:  # fmt: skip
    """Independent scenarios through ``mapper``, answered in input order. All are checked first, so a mistake in
    the last one is answered before the cluster spends anything on the others."""
    prepared = [
        _prepare(runtime, behaviour, twin_id, at_us, s, base_inputs, f"{pointer}/{i}") for i, s in enumerate(scenarios)
    ]
    # In process, each scenario's ensemble uses the runtime's mapper; shipped elsewhere, the built-in map there.
    run = functools.partial(_run_prepared, mapper=runtime.ensemble_mapper) if mapper is map else _run_prepared
    return list(mapper(run, prepared))


def compare(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenarios: Sequence[Mapping[str, Any]],
    impact: tuple[ImpactSpec, AreaLookup] | None = None, mapper: Mapper = map, limit: int = MAX_SCENARIOS,
) -> dict[str, Any]:  # fmt: skip
    """A baseline and each scenario on the same gathered inputs, with the change of every summary figure; with
    ``impact``, each also gets its ``impact`` (the area is looked up once, and only if something floods).
    ``mapper`` runs the scenarios (the baseline runs here, first, as every answer is measured against it)."""
    spec = runtime.get(behaviour)
    runtime.require_attached(spec, twin_id)
    if len(scenarios) > limit:
        raise InvalidInput([Problem("/scenarios", f"at most {limit} scenarios at once")])
    if not MIN_AT_US + spec.window_us <= at_us <= MAX_AT_US - spec.horizon_us:
        raise InvalidInput(
            [Problem("/at", "the scenario's window and horizon must fall within the years 1970 to 9000")]
        )
    inputs = runtime.gather(spec, twin_id, at_us - spec.window_us, at_us)
    baseline = run_scenario(runtime, behaviour, twin_id, at_us, {"name": "baseline"}, inputs)
    assess = _assessor(*impact) if impact is not None else None
    if assess is not None:  # before the scenarios run: a stage the forecast lacks is the request's mistake
        baseline["impact"] = assess(baseline["summary"])
    results = run_batch(runtime, behaviour, twin_id, at_us, scenarios, inputs, mapper)
    for result in results:
        result["difference"] = _difference(baseline["summary"], result["summary"])
        if assess is not None:
            result["impact"] = assess(result["summary"])
            result["difference"]["impact"] = _difference(baseline["impact"], result["impact"])
    answer = {
        "behaviour": behaviour,
        "twinId": twin_id,
        "at": format_timestamp(at_us),
        "baseline": baseline,
        "scenarios": results,
    }
    if impact is not None:
        answer["impact"] = impact[0].to_json()
    return answer


def sweep(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenarios: Sequence[Mapping[str, Any]],
    mapper: Mapper = map,
) -> dict[str, Any]:  # fmt: skip
    """A batch sweep: ``compare`` for up to ``MAX_SWEEP`` scenarios, run through ``mapper`` (e.g. on Dask)."""
    return compare(runtime, behaviour, twin_id, at_us, scenarios, mapper=mapper, limit=MAX_SWEEP)


def _assessor(spec: ImpactSpec, area: AreaLookup) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    looked_up = functools.cache(area)  # once, and only when a scenario floods

    def once() -> tuple[list[str], int]:
        buildings, residents = looked_up()
        return list(buildings), residents  # each result its own list

    return lambda summary: spec.assess(summary, once)


def _result(output: RunOutput) -> dict[str, Any]:
    series = {
        name: {"ts": [format_timestamp(int(t)) for t in ts], "values": np.round(values, 6).tolist()}
        for name, (ts, values) in output.series.items()
        if not name.endswith("_sim")  # the past is the same in every scenario
    }
    return {"summary": output.summary, "series": series}


def _difference(base: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    for key, value in other.items():
        before = base.get(key)
        if isinstance(value, int | float) and isinstance(before, int | float) and not isinstance(value, bool):
            diff[key] = value - before
        elif isinstance(value, Mapping) and isinstance(before, Mapping):
            diff[key] = _difference(before, value)
    return diff
