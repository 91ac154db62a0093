"""Fit a simulator's physical parameters to measured history, with their uncertainty.

Bounded nonlinear least squares (``scipy.optimize.least_squares``, trust-region reflective) on the residuals
between the simulated and the measured output. Parameters are searched in a scaled space (log space for
positive ranges spanning orders of magnitude), from several starts, because rainfall–runoff and kinetic
models have long flat valleys where one start stops early. Uncertainty comes from the Jacobian at the
optimum: cov = s² (JᵀJ)⁻¹, the usual linearised estimate, reported as a standard error and a 95 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import least_squares

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord, record_to_json

if TYPE_CHECKING:
    from futago.sim.runtime import BehaviourRuntime
    from futago.sim.simulator import Simulator


@dataclass(frozen=True)
class Calibration(JsonRecord):
    params: dict[str, float]
    stderr: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    rmse: float
    rmse_before: float
    n: int
    success: bool
    message: str
    at_bound: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # Not the plain mapping: a standard error that could not be estimated (NaN) is null, as JSON has no NaN.
        stderr = {k: (None if math.isnan(v) else v) for k, v in self.stderr.items()}
        return {**record_to_json(self), "stderr": stderr}


class _Scale:
    """Maps each parameter to [0, 1]: log-uniform for positive ranges over a decade or more, else linear."""

    def __init__(self, bounds: Mapping[str, tuple[float, float]]) -> None:
        self.names = list(bounds)
        self.low = np.array([bounds[n][0] for n in self.names], dtype=np.float64)
        self.high = np.array([bounds[n][1] for n in self.names], dtype=np.float64)
        self.log = (self.low > 0) & (self.high >= 10.0 * self.low)
        # In log space the same formulas as linear apply to log(low), log(high).
        self._lo = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        self._hi = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        t = self._lo + u * (self._hi - self._lo)
        values = np.where(self.log, np.exp(np.where(self.log, t, 0.0)), t)  # exp only where it is a log
        return {n: float(v) for n, v in zip(self.names, values, strict=True)}

    def to_unit(self, params: Mapping[str, float]) -> np.ndarray:
        values = np.clip(np.array([params[n] for n in self.names], dtype=np.float64), self.low, self.high)
        t = np.where(self.log, np.log(np.where(self.log, values, 1.0)), values)
        return np.clip((t - self._lo) / (self._hi - self._lo), 0.0, 1.0)

    def derivative(self, params: Mapping[str, float]) -> np.ndarray:
        """d(parameter)/du at ``params``, to carry a covariance from unit space back to parameter units."""
        values = np.array([params[n] for n in self.names], dtype=np.float64)
        return np.where(self.log, values, 1.0) * (self._hi - self._lo)


def calibrate(
    model: Simulator,
    X: np.ndarray,
    y: np.ndarray,
    bounds: Mapping[str, tuple[float, float]],
    *,
    warmup: int = 0,
    starts: int = 4,
    seed: int = 0,
) -> Calibration:
    """Fit the parameters named in ``bounds`` so that ``model`` run over ``X`` reproduces ``y``.

    ``warmup`` rows are simulated but not scored (the model's initial state is a guess). NaN in ``y`` are
    gaps: simulated through, not scored. The model itself is not changed.
    """
    problems = [
        Problem(f"/bounds/{name}", f"bounds must be (low, high) with low < high, got {bound!r}")
        for name, bound in bounds.items()
        if len(bound) != 2 or not bound[0] < bound[1]
    ]
    problems += [
        Problem(f"/bounds/{name}", f"{model.name} has no parameter '{name}'")
        for name in bounds
        if name not in model.param_names()
    ]
    if not bounds:
        problems.append(Problem("/bounds", f"{model.name} declares no parameters to calibrate"))
    if problems:
        raise InvalidInput(problems)
    scored = np.isfinite(y)
    scored[:warmup] = False
    if scored.sum() < len(bounds) + 2:
        raise InvalidInput(
            [Problem("/y", f"too few measured values ({int(scored.sum())}) to fit {len(bounds)} parameters")]
        )
    scale = _Scale(bounds)
    start_params = {n: float(getattr(model, n)) for n in bounds}
    state = model.state

    def residuals(u: np.ndarray) -> np.ndarray:
        trial = model.clone().set_params(**scale.to_params(u))
        simulated, _ = trial.run(X, state)
        diff = np.asarray(simulated, dtype=np.float64)[scored] - y[scored]
        return np.where(np.isfinite(diff), diff, 1e6)

    jac: Any = "2-point"
    if model.tags.get("vectorised_params", False):
        jac = _batched_jacobian(model, X, y, scored, state, scale)

    rmse_before = float(np.sqrt(np.mean(residuals(scale.to_unit(start_params)) ** 2)))
    rng = np.random.default_rng(seed)
    candidates = [scale.to_unit(start_params)] + [
        rng.uniform(0.05, 0.95, len(bounds)) for _ in range(max(starts - 1, 0))
    ]
    best = None
    for u0 in candidates:
        result = least_squares(residuals, u0, jac=jac, bounds=(0.0, 1.0), x_scale="jac", max_nfev=200 * len(bounds))
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    params = scale.to_params(best.x)
    stderr = _stderr(best, scale, params)
    n = int(scored.sum())
    rmse = float(np.sqrt(2.0 * best.cost / n))
    ci95 = {
        k: (params[k] - 1.96 * s, params[k] + 1.96 * s) if math.isfinite(s) else (math.nan, math.nan)
        for k, s in stderr.items()
    }
    at_bound = [name for name, u in zip(scale.names, best.x, strict=True) if u < 1e-4 or u > 1 - 1e-4]
    return Calibration(params, stderr, ci95, rmse, rmse_before, n, bool(best.success), str(best.message), at_bound)


def _batched_jacobian(
    model: Simulator, X: np.ndarray, y: np.ndarray, scored: np.ndarray, state: np.ndarray, scale: _Scale
) -> Any:
    """Forward differences for every parameter in one batched run (one member per perturbed parameter)."""
    step = 1e-4

    def jacobian(u: np.ndarray) -> np.ndarray:
        p = len(u)
        h = np.where(u + step <= 1.0, step, -step)
        trials = np.repeat(u[None, :], p + 1, axis=0)
        trials[1:][np.arange(p), np.arange(p)] += h
        columns = [scale.to_params(row) for row in trials]
        batched = model.clone().set_params(**{k: np.array([c[k] for c in columns]) for k in scale.names})
        members = batched.run_members(
            np.broadcast_to(X, (p + 1, *X.shape)), np.broadcast_to(state, (p + 1, *state.shape[-1:]))
        )
        sims = members[:, scored]
        return ((sims[1:] - sims[0]) / h[:, None]).T

    return jacobian


def _stderr(result: Any, scale: _Scale, params: Mapping[str, float]) -> dict[str, float]:
    """Linearised standard errors, carried from the unit space back to parameter units by the chain rule."""
    jac = np.asarray(result.jac, dtype=np.float64)
    n, p = jac.shape
    dof = max(n - p, 1)
    s2 = 2.0 * float(result.cost) / dof
    try:
        cov_u = np.linalg.pinv(jac.T @ jac) * s2
    except np.linalg.LinAlgError:
        return {name: math.nan for name in scale.names}
    span = scale.derivative(params)
    var = np.diag(cov_u) * span**2
    return {
        name: float(math.sqrt(v)) if v >= 0 and math.isfinite(v) else math.nan
        for name, v in zip(scale.names, var, strict=True)
    }


def calibrate_behaviour(
    runtime: BehaviourRuntime, name: str, twin_id: str, start_us: int, end_us: int, *, save: bool = False
) -> Calibration:
    """Fit a simulator behaviour's parameters to a twin's history over [start, end) (its inputs and its measured
    telemetry on the behaviour's step grid). With ``save`` the behaviour keeps the fitted values."""
    from futago.sim.simulator import Simulator
    from futago.sim.validation import model_errors

    spec, model, inputs = runtime.replay(name, twin_id, start_us, end_us)
    if not isinstance(model, Simulator) or not model.calibration_bounds() or spec.artifact is not None:
        raise InvalidInput(
            [Problem("/behaviour", f"behaviour '{name}' runs {spec.model}, which has nothing to calibrate")]
        )
    assert inputs.y is not None
    with model_errors("/params"):
        result = calibrate(model, inputs.X, inputs.y, model.calibration_bounds())
    if save:
        runtime.put(name, {**spec.raw, "params": {**spec.params, **result.params}})
    return result
