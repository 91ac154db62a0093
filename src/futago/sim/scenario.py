"""What-if scenarios: run a behaviour on overridden inputs and parameters, never touching live state.

A scenario starts from the twin as it is at ``at`` (its history up to then, assimilated as a live run would),
or from an explicit model ``state``, and changes what happens next: scale, shift or set an input over the
horizon (rainfall ×1.5, a valve closed), or move a parameter (a setpoint). Nothing is written, and a fitted
detector's live state is copied, not shared. ``compare`` runs a baseline and any number of scenarios on the
same inputs and lays the results side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import format_timestamp
from futago.sim.runners import RunInputs, RunOutput
from futago.sim.runtime import BehaviourRuntime
from futago.sim.simulator import Simulator

OPERATIONS = ("scale", "add", "set")


def apply_overrides(inputs: RunInputs, columns: Sequence[str], overrides: Mapping[str, Any], pointer: str) -> RunInputs:
    """Future inputs with each override applied: ``{"rainfall": {"scale": 1.5}}``, ``{"valve": {"set": 0}}``."""
    future = inputs.future_X.copy()
    problems = []
    for column, change in overrides.items():
        if column not in columns:
            problems.append(Problem(f"{pointer}/{column}", f"no input '{column}'; the inputs are {list(columns)}"))
            continue
        if not isinstance(change, Mapping) or len(change) != 1 or next(iter(change)) not in OPERATIONS:
            problems.append(
                Problem(f"{pointer}/{column}", 'an override is one of {"scale": x}, {"add": x}, {"set": x}')
            )
            continue
        ((operation, value),) = change.items()
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(Problem(f"{pointer}/{column}/{operation}", "an override value is a number"))
            continue
        j = list(columns).index(column)
        if operation == "scale":
            future[:, j] *= value
        elif operation == "add":
            future[:, j] += value
        else:
            future[:, j] = value
    if problems:
        raise InvalidInput(problems)
    return RunInputs(
        inputs.grid, inputs.X, inputs.y, inputs.future_grid, future, inputs.twin_properties, inputs.provenance
    )


def run_scenario(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenario: Mapping[str, Any],
    base_inputs: RunInputs | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One scenario: ``{"name", "inputs": {col: {op: x}}, "params": {name: x}, "state": [..]}``."""
    spec = runtime.get(behaviour)
    name = scenario.get("name", "scenario")
    unknown = set(scenario) - {"name", "inputs", "params", "state"}
    if unknown:
        raise InvalidInput([Problem(f"/{sorted(unknown)[0]}", "a scenario has name, inputs, params and state")])
    model = spec.build_model()
    params = scenario.get("params", {})
    if params:
        model = model.clone().set_params(**params)
        try:
            model.clone()
        except (TypeError, ValueError) as exc:
            raise InvalidInput([Problem("/params", str(exc))]) from exc
    if "state" in scenario:
        if not isinstance(model, Simulator):
            raise InvalidInput([Problem("/state", f"{spec.model} has no state to start from")])
        model.set_state(np.asarray(scenario["state"], dtype=np.float64))
    inputs = base_inputs or runtime.gather(spec, twin_id, at_us - spec.window_us, at_us)
    inputs = apply_overrides(inputs, list(spec.inputs), scenario.get("inputs", {}), "/inputs")
    state = runtime.live_state(behaviour, twin_id)
    output, _, _ = runtime.compute(spec, twin_id, at_us, model=model, inputs=inputs, state=state)
    return {"name": name, "overrides": {k: scenario[k] for k in ("inputs", "params", "state") if k in scenario},
            **_result(output)}  # fmt: skip


def compare(
    runtime: BehaviourRuntime, behaviour: str, twin_id: str, at_us: int, scenarios: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A baseline and each scenario on the same gathered inputs, with the change of every summary figure."""
    spec = runtime.get(behaviour)
    inputs = runtime.gather(spec, twin_id, at_us - spec.window_us, at_us)
    baseline = run_scenario(runtime, behaviour, twin_id, at_us, {"name": "baseline"}, inputs)
    results = [run_scenario(runtime, behaviour, twin_id, at_us, s, inputs) for s in scenarios]
    for result in results:
        result["difference"] = _difference(baseline["summary"], result["summary"])
    return {
        "behaviour": behaviour,
        "twinId": twin_id,
        "at": format_timestamp(at_us),
        "baseline": baseline,
        "scenarios": results,
    }


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
