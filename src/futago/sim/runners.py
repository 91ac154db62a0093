"""How each kind of model turns a twin's history into derived telemetry. Pure: nothing here writes.

The runtime, what-if scenarios and validation reports all call ``execute`` with the same ``RunInputs``, so a
scenario is exactly a live run on overridden inputs, and a validation report judges exactly what runs live.

Derived series names come from ``BehaviourSpec.output_names`` (the stem is the behaviour's ``output``, else its
``measured`` telemetry, else its name):

* simulators: ``<stem>_sim`` (at each step, what the model expected just before the measurement),
  ``<stem>_forecast`` (median over the horizon), ``<stem>_forecast~q05`` … ``~q95`` (ensemble quantiles),
  ``<stem>_exceedance~<stage>`` (probability, at the run time, of reaching each warning level the twin declares
  within the horizon);
* forecasters: ``<stem>_forecast`` and, when the model gives intervals, ``<stem>_forecast~q05``/``~q95``;
* detectors: ``anomalyScore`` (score ÷ learned threshold, so above 1 is anomalous) and ``anomaly`` (0/1), or
  ``<output>Score`` and ``<output>``;
* regressors: ``<output>`` (e.g. ``rul``) on each row.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from futago.analytics.protocol import Detector, FloatArray, Forecaster, Model
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.sim.behaviours import BehaviourSpec
from futago.sim.ensemble import Uncertainty, run_ensemble
from futago.sim.flood import WarningLevels
from futago.sim.simulator import Simulator

DEFAULT_UNCERTAINTY: dict[str, Any] = {"inputs": 0.3}

#: Runs an ensemble's chunks: ``map(fn, *iterables)`` in order (the built-in, or a Dask client's map and gather).
Mapper = Callable[..., Iterable[FloatArray]]


@dataclass
class RunInputs:
    """A behaviour's inputs on a regular grid: ``X`` (steps × inputs) over the window, the measured series
    ``y`` on the same grid (NaN where nothing was measured), and future inputs for the horizon."""

    grid: np.ndarray  # µs, the start of each step
    X: FloatArray
    y: FloatArray | None
    future_grid: np.ndarray
    future_X: FloatArray
    twin_properties: Mapping[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutput:
    series: dict[str, tuple[np.ndarray, FloatArray]]  # name -> (ts µs, values)
    summary: dict[str, Any]


def execute(
    spec: BehaviourSpec, model: Model, inputs: RunInputs, state: dict[str, Any], mapper: Mapper = map
) -> RunOutput:
    """Run ``model`` for one twin. ``state`` persists between runs of the same (behaviour, twin): a detector
    keeps its fitted self there, and the last row it scored. ``mapper`` runs a simulator's ensemble chunks;
    the members are the same wherever they run (see ``run_ensemble``)."""
    if isinstance(model, Simulator):
        return _simulate(spec, model, inputs, mapper)
    if isinstance(model, Detector):
        return _detect(spec, model, inputs, state)
    if isinstance(model, Forecaster):
        return _forecast(spec, model, inputs)
    return _regress(spec, model, inputs, state)


def _simulate(spec: BehaviourSpec, model: Simulator, inputs: RunInputs, mapper: Mapper = map) -> RunOutput:
    """Step through the window assimilating each measurement (the ``_sim`` series is what the model expected
    at each step just before seeing it), then forecast the horizon from the state reached."""
    names = spec.output_names()
    live = copy.deepcopy(model)  # fitted parts (a hybrid's correction) must survive; the caller's model stays
    measured = inputs.y if inputs.y is not None else np.full(len(inputs.X), np.nan)
    expected = np.empty(len(inputs.X))
    for i, (row, observed) in enumerate(zip(inputs.X, measured, strict=True)):
        step, _ = live.run(row.reshape(1, -1), live.state)
        expected[i] = step[0]
        live.learn_one(row, None if np.isnan(observed) else float(observed))
    series: dict[str, tuple[np.ndarray, FloatArray]] = {names["sim"]: (inputs.grid, expected)}
    summary: dict[str, Any] = {"steps": len(inputs.X), "horizonSteps": len(inputs.future_X)}
    if len(inputs.future_X) == 0:
        return RunOutput(series, summary)
    forecast = names["forecast"]
    if spec.members > 0:
        spread: Mapping[str, Any] = spec.uncertainty or DEFAULT_UNCERTAINTY
        uncertainty = Uncertainty(
            inputs={name: float(spread.get("inputs", 0.0)) for name in live.inputs},
            params={k: float(v) for k, v in dict(spread.get("params", {})).items()},
        )
        seed = int(inputs.grid[-1] % 2**31)
        ensemble = run_ensemble(live, inputs.future_X, spec.members, uncertainty, seed=seed, mapper=mapper)
        quantiles = ensemble.quantiles((0.05, 0.5, 0.95))
        series[forecast] = (inputs.future_grid, quantiles[0.5])
        series[f"{forecast}~q05"] = (inputs.future_grid, quantiles[0.05])
        series[f"{forecast}~q95"] = (inputs.future_grid, quantiles[0.95])
        summary["members"] = spec.members
        try:
            levels = WarningLevels.from_twin(inputs.twin_properties)
        except InvalidInput as exc:  # the forecast still stands; only the probabilities need the levels
            levels = WarningLevels({})
            summary["warningLevels"] = exc.detail
        if levels.levels:
            exceedance = ensemble.exceedance(levels.levels)
            summary["exceedance"] = exceedance
            for stage, probability in exceedance.items():
                series[f"{names['exceedance']}~{stage}"] = (inputs.grid[-1:], np.array([probability]))
        summary["peak"] = float(quantiles[0.5].max())
    else:
        point = live.predict(inputs.future_X)
        series[forecast] = (inputs.future_grid, point)
        summary["peak"] = float(point.max())
    return RunOutput(series, summary)


def _detect(spec: BehaviourSpec, model: Detector, inputs: RunInputs, state: dict[str, Any]) -> RunOutput:
    fitted: Detector | None = state.get("model")
    start = 0
    if fitted is None:
        # Learn normal behaviour from the first part of the first window: ``train``, or half of it.
        train_steps = (spec.train_us or (len(inputs.grid) * spec.step_us) // 2) // spec.step_us
        if train_steps < 10:
            raise InvalidInput(
                [Problem("/train", f"{spec.name}: too little history to learn from ({train_steps} steps)")]
            )
        fitted = model.fit(inputs.X[:train_steps])
        state["model"] = fitted
        start = int(train_steps)
    last = state.get("last_us")
    if last is not None:
        start = max(start, int(np.searchsorted(inputs.grid, last, side="right")))
    rows = inputs.X[start:]
    if len(rows) == 0:
        return RunOutput({}, {"scored": 0})
    ratio = fitted.score(rows) / max(fitted.threshold_, 1e-12)
    state["last_us"] = int(inputs.grid[-1])
    ts = inputs.grid[start:]
    flags = (ratio > 1.0).astype(np.float64)
    names = spec.output_names()
    return RunOutput(
        {names["score"]: (ts, ratio), names["flag"]: (ts, flags)},
        {"scored": len(rows), "anomalies": int(flags.sum()), "threshold": float(fitted.threshold_)},
    )


def _forecast(spec: BehaviourSpec, model: Forecaster, inputs: RunInputs) -> RunOutput:
    if inputs.y is None:
        raise InvalidInput([Problem("/measured", f"{spec.name}: a forecaster needs the 'measured' telemetry")])
    known = np.isfinite(inputs.y)
    if known.sum() < 4:
        raise InvalidInput([Problem("/measured", f"{spec.name}: too little history to forecast from")])
    first = int(np.argmax(known))
    y = fill_forward(inputs.y[first:])
    if "timestamps" in inspect.signature(model.fit).parameters:  # calendar features need the clock (UTC here)
        model.fit(inputs.X[first:], y, timestamps=inputs.grid[first:].astype("datetime64[us]"))  # type: ignore[call-arg]
    else:
        model.fit(inputs.X[first:], y)
    forecast = spec.output_names()["forecast"]
    point = model.predict(inputs.future_X)
    series = {forecast: (inputs.future_grid, point)}
    try:
        lower, upper = model.predict_interval(inputs.future_X, alpha=0.1)
        series[f"{forecast}~q05"] = (inputs.future_grid, lower)
        series[f"{forecast}~q95"] = (inputs.future_grid, upper)
    except NotImplementedError:
        pass
    return RunOutput(series, {"steps": len(y), "horizonSteps": len(point)})


def _regress(spec: BehaviourSpec, model: Model, inputs: RunInputs, state: dict[str, Any]) -> RunOutput:
    """A regressor answers for every row of the window: a saved model (``artifact``, e.g. remaining useful life
    trained on a fleet) as it is, or one fitted here on the window's ``measured`` target."""
    if not model.is_fitted:
        if inputs.y is None or not np.isfinite(inputs.y).any():
            raise InvalidInput([Problem("/measured", f"{spec.name}: a regressor learns from a 'measured' target")])
        known = np.isfinite(inputs.y)
        model.fit(inputs.X[known], inputs.y[known])
        state["model"] = model
    predicted = model.predict(inputs.X)
    return RunOutput({spec.output_names()["value"]: (inputs.grid, predicted)}, {"rows": len(predicted)})


def fill_forward(values: FloatArray) -> FloatArray:
    """Carry the last value over steps without readings; before the first reading, use the first; all-NaN → 0."""
    known = np.isfinite(values)
    if not known.any():
        return np.zeros_like(values)
    index = np.where(known, np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    first = int(np.argmax(known))
    filled[:first] = values[first]
    return filled
