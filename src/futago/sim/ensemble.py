"""Monte Carlo ensembles over input and parameter uncertainty, vectorised with numpy.

Each member draws a multiplicative factor for the inputs (a rainfall forecast is uncertain by a factor, not by
millimetres) and for each uncertain parameter, both log-normal with median 1. Members run in one batched call of
a simulator that accepts array-valued parameters (tag ``vectorised_params``), in chunks so memory stays flat for
any member count. Chunks are independent given their seeds, which is what lets the scale-out issue hand them
to Dask and get the same result for the same seed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import FloatArray, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord
from futago.sim.simulator import Simulator

DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Uncertainty(JsonRecord):
    """Log-normal spreads (sigma of the log) for the inputs, per input column, and for parameters by name."""

    inputs: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Ensemble:
    """Member trajectories (members × steps) and the summaries people read from them."""

    members: FloatArray

    def quantiles(self, qs: Sequence[float] = DEFAULT_QUANTILES) -> dict[float, FloatArray]:
        values = np.quantile(self.members, list(qs), axis=0)
        return {float(q): values[i] for i, q in enumerate(qs)}

    def exceedance(self, thresholds: Mapping[str, float]) -> dict[str, float]:
        """Probability that a member's maximum over the horizon reaches each threshold."""
        peak = self.members.max(axis=1)
        return {name: float(np.mean(peak >= level)) for name, level in thresholds.items()}

    def first_crossing_steps(self, level: float) -> FloatArray:
        """Per member, the first step at or above ``level`` (NaN where it never gets there)."""
        above = self.members >= level
        first = np.argmax(above, axis=1).astype(np.float64)
        first[~above.any(axis=1)] = np.nan
        return first


def run_ensemble(
    model: Simulator,
    X: ArrayLike,
    members: int,
    uncertainty: Uncertainty,
    *,
    seed: int = 0,
    state: ArrayLike | None = None,
    chunk: int = 50_000,
    mapper: Callable[..., Iterable[FloatArray]] = map,
) -> Ensemble:
    """Run ``members`` perturbed copies of ``model`` over inputs ``X`` (steps × inputs) from ``state``.

    ``mapper`` runs the chunks: the built-in ``map`` here, or a distributed one (a Dask client's ``map`` then
    ``gather``); each chunk's seed is fixed by ``seed`` and its index, so the answer does not depend on where
    the chunks ran.
    """
    if members < 1:
        raise InvalidInput([Problem("/members", "an ensemble needs at least one member")])
    problems = [
        Problem(f"/uncertainty/inputs/{k}", f"{model.name} has no input '{k}'")
        for k in uncertainty.inputs
        if k not in model.inputs
    ]
    problems += [
        Problem(f"/uncertainty/params/{k}", f"{model.name} has no parameter '{k}'")
        for k in uncertainty.params
        if k not in model.param_names()
    ]
    if problems:
        raise InvalidInput(problems)
    data = check_X(model, X, n_features=len(model.inputs))
    start = model.state if state is None else np.asarray(state, dtype=np.float64)
    seeds = np.random.SeedSequence(seed).spawn((members + chunk - 1) // chunk)
    sizes = [min(chunk, members - i * chunk) for i in range(len(seeds))]
    run = functools.partial(_run_chunk, model, data, uncertainty=uncertainty, state=start)
    parts = list(mapper(run, sizes, seeds))
    return Ensemble(np.concatenate(parts, axis=0))


def _run_chunk(
    model: Simulator,
    X: FloatArray,
    size: int,
    seed: np.random.SeedSequence,
    *,
    uncertainty: Uncertainty,
    state: FloatArray,
) -> FloatArray:
    rng = np.random.default_rng(seed)
    perturbed = copy.deepcopy(model)  # keep fitted parts (a hybrid's correction), vary only the parameters
    perturbed.set_params(**{k: getattr(model, k) * rng.lognormal(0.0, s, size) for k, s in uncertainty.params.items()})
    # The outputs of a batched run are members × steps; inputs are scaled per member and column.
    factors = np.ones((size, 1, X.shape[1]))
    for k, s in uncertainty.inputs.items():
        factors[:, 0, model.inputs.index(k)] = rng.lognormal(0.0, s, size)
    return perturbed.run_members(X[None, :, :] * factors, np.broadcast_to(state, (size, *state.shape[-1:])))
