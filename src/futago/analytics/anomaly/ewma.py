"""Control charts for streams: EWMA and CUSUM, one chart per column, truly recursive.

Both charts run on standardised, conditioned rows (see ``conditioning``) and carry their statistic from row to
row, so ``score_one`` is the textbook O(columns) update and ``score(X)`` is the same recursion over a batch.
The charts start on target (statistic 0) at the first training row; scoring continues from where training
or the last scoring call left them (see ``base``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from futago.analytics.anomaly.base import NoiseFloor, _WindowDetector, is_real, location_scale
from futago.analytics.protocol import FloatArray
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


def long_run_scale(centred: FloatArray) -> FloatArray:
    """Per-column long-run standard deviation (Newey–West, Bartlett weights, bandwidth 4·(n/100)^(2/9)).

    The variance of a mean of n autocorrelated samples is the long-run variance / n; for white noise it equals
    the ordinary variance. A constant column gets scale 1.
    """
    n = len(centred)
    bandwidth = min(int(4 * (n / 100) ** (2 / 9)), n - 1)
    variance = np.mean(centred**2, axis=0)
    for lag in range(1, bandwidth + 1):
        weight = 1.0 - lag / (bandwidth + 1)
        variance = variance + 2.0 * weight * np.mean(centred[lag:] * centred[:-lag], axis=0)
    scale = np.sqrt(np.maximum(variance, 0.0))
    return np.where(scale > 1e-12, scale, 1.0)


class EWMAChart(_WindowDetector):
    """Exponentially weighted moving average chart: ``z[t] = lam·x[t] + (1 − lam)·z[t−1]`` per column.

    Score: the largest |EWMA| over the columns, each divided by the spread its EWMA showed on the training
    rows (a z-score, not its square, so ``score / threshold_`` grows in proportion to the shift). That spread
    is measured rather than taken from the textbook ``σ·√(lam/(2 − lam))``, which holds only for uncorrelated
    samples: real sensors wander, and a chart that assumes they do not alarms on wander.
    ``lam=0.2`` remembers about (2 − lam)/lam = 9 rows, a short memory that still averages out dithering.
    ``threshold_``: ``quantile`` of the training scores (after the chart has forgotten its start) × ``margin``
    (1.4 ≈ √2: the margin of 2 this chart had when it scored squares).
    """

    name: ClassVar[str] = "ewma"
    version: ClassVar[str] = "2"

    def __init__(
        self,
        lam: float = 0.2,
        quantile: float = 0.99,
        margin: float = 1.4,
        smoothing: int = 1,
        rate_columns: tuple[int, ...] = (),
        rate_lag: int = 30,
        window: int = 2000,
        noise_floor: NoiseFloor = None,
    ) -> None:
        self.lam = lam
        self.quantile = quantile
        self.margin = margin
        self.smoothing = smoothing
        self.rate_columns = rate_columns
        self.rate_lag = rate_lag
        self.window = window
        self.noise_floor = noise_floor

    def _burn_in(self) -> int:
        # After 4/lam rows the start (z = 0) weighs (1 − lam)^(4/lam) ≈ e⁻⁴ ≈ 2 %: the chart is in its stride.
        return math.ceil(4.0 / self.lam) if self._lam_ok() else 0

    def _lam_ok(self) -> bool:
        return is_real(self.lam) and 0.0 < self.lam <= 1.0

    def _learn(self, features: FloatArray) -> None:
        if not self._lam_ok():
            raise InvalidInput([Problem("/lam", f"{self.name}: lam must lie in (0, 1]")])
        self.center_, self.scale_ = location_scale(features)
        ewma = self._run((features - self.center_) / self.scale_, np.zeros(features.shape[1]))
        spread = ewma[self._burn_in() :].std(axis=0)
        self.ewma_scale_ = np.where(spread > 1e-12, spread, 1.0)

    def _run(self, z: FloatArray, start: FloatArray) -> FloatArray:
        lam = float(self.lam)
        out = np.empty_like(z)
        current = start
        for i, row in enumerate(z):
            current = lam * row + (1.0 - lam) * current
            out[i] = current
        return out

    def _initial_state(self) -> FloatArray:
        return np.zeros(len(self.center_))

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        ewma = self._run((features - self.center_) / self.scale_, state)
        scores: FloatArray = np.max(np.abs(ewma) / self.ewma_scale_, axis=1)
        return scores, (ewma[-1].copy() if len(ewma) else state)


class CUSUMChart(_WindowDetector):
    """Two-sided tabular CUSUM per column on standardised rows, score = the largest sum over columns and sides.

    ``S⁺[t] = max(0, S⁺[t−1] + z[t] − k)`` and ``S⁻[t] = max(0, S⁻[t−1] − z[t] − k)``: the allowance ``k``
    (in standard deviations) is half the smallest shift worth detecting, so ``k=0.5`` targets shifts of one
    standard deviation, the classic choice. ``threshold_`` (the decision interval h) is ``quantile`` of the
    training sums × ``margin``.

    The standard deviation is the *long-run* one (``long_run_scale``): a sum of n autocorrelated samples
    spreads like √n times the long-run deviation, not the sample deviation, and a chart scaled by the latter
    alarms on every slow wander of a sensor while a dithering one looks quieter than it is.

    A plain CUSUM keeps growing through a long fault and then needs (sum/k) rows to come down, alarming long
    after the process is back to normal. The sums are therefore capped at ``cap`` × h: a fault still drives the
    chart to the cap at once, and the alarm clears within about (cap − 1)·h/k rows of the fault ending.
    """

    name: ClassVar[str] = "cusum"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        k: float = 0.5,
        cap: float = 2.0,
        quantile: float = 0.99,
        margin: float = 1.5,
        smoothing: int = 1,
        rate_columns: tuple[int, ...] = (),
        rate_lag: int = 30,
        window: int = 2000,
        noise_floor: NoiseFloor = None,
    ) -> None:
        self.k = k
        self.cap = cap
        self.quantile = quantile
        self.margin = margin
        self.smoothing = smoothing
        self.rate_columns = rate_columns
        self.rate_lag = rate_lag
        self.window = window
        self.noise_floor = noise_floor

    def _learn(self, features: FloatArray) -> None:
        problems = []
        if not (is_real(self.k) and self.k >= 0.0):
            problems.append(Problem("/k", f"{self.name}: the allowance k must be >= 0"))
        if not (is_real(self.cap) and self.cap > 1.0):
            problems.append(Problem("/cap", f"{self.name}: cap must exceed 1 (a multiple of the threshold)"))
        if problems:
            raise InvalidInput(problems)
        self.center_, _ = location_scale(features)
        self.scale_ = long_run_scale(features - self.center_)
        # The cap is a multiple of the decision interval, which is itself learned from these sums: run the
        # chart uncapped once to find it.
        self.ceiling_ = math.inf
        sums, _ = self._score_features(features, self._initial_state())
        decision = float(np.quantile(sums, float(self.quantile))) * float(self.margin)
        self.ceiling_ = float(self.cap) * max(decision, 1e-12)

    def _initial_state(self) -> FloatArray:
        return np.zeros((2, len(self.center_)))

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        z = (features - self.center_) / self.scale_
        k, ceiling = float(self.k), self.ceiling_
        upper, lower = state[0], state[1]
        scores = np.empty(len(z))
        for i, row in enumerate(z):
            upper = np.minimum(np.maximum(0.0, upper + row - k), ceiling)
            lower = np.minimum(np.maximum(0.0, lower - row - k), ceiling)
            scores[i] = max(float(upper.max()), float(lower.max()))
        return scores, np.vstack([upper, lower])
