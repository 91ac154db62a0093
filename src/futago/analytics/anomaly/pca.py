"""Multivariate statistical process control with PCA: Hotelling's T² and the Q statistic (SPE).

PCA on the standardised training rows splits the space into the few directions normal operation actually
moves in (the principal subspace) and the rest. A fault shows up either as an unusually large move *within*
the normal directions (T², a Mahalanobis distance over the retained components) or as a move *out of* them,
a broken correlation between sensors (Q, the squared residual, also called the squared prediction error).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from futago.analytics.anomaly.base import NoiseFloor, _WindowDetector, is_real, location_scale
from futago.analytics.protocol import FloatArray
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

Statistic = Literal["t2q", "t2", "q"]
_TINY = 1e-12


class PCADetector(_WindowDetector):
    """T² and Q on conditioned, standardised rows; each in units of its own training limit.

    ``variance``: the share of training variance the retained components must explain (at least one
    component, and at least one left over for Q when there are two or more columns).
    ``statistic``: ``"t2q"`` scores max(√(T²/T²-limit), √(Q/Q-limit)), so a row alarms when either statistic is
    far beyond its ``quantile`` on the training rows; ``"t2"`` or ``"q"`` score one statistic alone. The square
    roots make scores distances (in units of their limit), so ``score / threshold_`` grows in proportion to the
    shift rather than with its square. ``threshold_``: ``quantile`` of the training scores × ``margin``
    (1.4 ≈ √2, the margin of 2 these scores had as squared distances).

    Rows are first conditioned (``smoothing`` rows of causal rolling mean; ``rate_columns`` monitored as
    their change over ``rate_lag`` rows); see ``conditioning``. ``learn_one`` refits on the last ``window`` rows.
    """

    name: ClassVar[str] = "pca_t2q"
    version: ClassVar[str] = "2"

    def __init__(
        self,
        variance: float = 0.9,
        statistic: Statistic = "t2q",
        quantile: float = 0.99,
        margin: float = 1.4,
        smoothing: int = 10,
        rate_columns: tuple[int, ...] = (),
        rate_lag: int = 30,
        window: int = 2000,
        noise_floor: NoiseFloor = None,
    ) -> None:
        self.variance = variance
        self.statistic = statistic
        self.quantile = quantile
        self.margin = margin
        self.smoothing = smoothing
        self.rate_columns = rate_columns
        self.rate_lag = rate_lag
        self.window = window
        self.noise_floor = noise_floor

    def _learn(self, features: FloatArray) -> None:
        problems = []
        if self.statistic not in ("t2q", "t2", "q"):
            problems.append(Problem("/statistic", f"{self.name}: statistic must be 't2q', 't2' or 'q'"))
        if not (is_real(self.variance) and 0.0 < self.variance <= 1.0):
            problems.append(Problem("/variance", f"{self.name}: variance must lie in (0, 1]"))
        if problems:
            raise InvalidInput(problems)
        self.center_, self.scale_ = location_scale(features)
        z = (features - self.center_) / self.scale_
        _, singular, vt = np.linalg.svd(z, full_matrices=False)
        eigenvalues = singular**2 / max(len(z) - 1, 1)
        explained = np.cumsum(eigenvalues) / max(float(eigenvalues.sum()), _TINY)
        n_columns = z.shape[1]
        k = int(np.searchsorted(explained, float(self.variance) - 1e-12) + 1)
        k = max(1, min(k, n_columns - 1 if n_columns > 1 else 1))
        self.n_components_ = k
        self.components_ = vt[:k].T
        self.eigenvalues_ = np.maximum(eigenvalues[:k], _TINY)
        t2, q = self._statistics(features)
        self.t2_limit_ = max(float(np.quantile(t2, float(self.quantile))), _TINY)
        self.q_limit_ = max(float(np.quantile(q, float(self.quantile))), _TINY)

    def _statistics(self, features: FloatArray) -> tuple[FloatArray, FloatArray]:
        z = (features - self.center_) / self.scale_
        projected = z @ self.components_
        t2: FloatArray = np.sum(projected**2 / self.eigenvalues_, axis=1)
        residual = z - projected @ self.components_.T
        q: FloatArray = np.sum(residual**2, axis=1)
        return t2, q

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        t2, q = self._statistics(features)
        t2_ratio, q_ratio = np.sqrt(t2 / self.t2_limit_), np.sqrt(q / self.q_limit_)
        if self.statistic == "t2":
            return t2_ratio, state
        if self.statistic == "q":
            return q_ratio, state
        scores: FloatArray = np.maximum(t2_ratio, q_ratio)
        return scores, state
