"""The PHM08 score: the asymmetric error measure of the 2008 PHM data challenge on C-MAPSS.

A late prediction (predicted RUL above the truth: the asset fails before maintenance) is worse than an early one
(maintenance comes too soon), so lateness is penalised with time constant 10 cycles and earliness with 13:
``s = Σ exp(-d/13) - 1`` for ``d < 0`` and ``Σ exp(d/10) - 1`` for ``d ≥ 0``, with ``d = predicted - true``.
Lower is better; 0 is perfect. Saxena et al., "Damage propagation modeling for aircraft engine run-to-failure
simulation", PHM 2008.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

EARLY_SCALE = 13.0
LATE_SCALE = 10.0


def phm08_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Sum over assets of ``exp(-d/13) - 1`` (early, ``d < 0``) or ``exp(d/10) - 1`` (late), ``d = pred - true``."""
    truth = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if truth.shape != pred.shape:
        raise InvalidInput([Problem("/y_pred", f"{pred.shape[0]} predictions for {truth.shape[0]} true values")])
    d = pred - truth
    penalty = np.where(d < 0, np.expm1(-d / EARLY_SCALE), np.expm1(d / LATE_SCALE))
    return float(np.sum(penalty))
