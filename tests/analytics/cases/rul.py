"""Protocol cases for the remaining-useful-life regressors, on a small synthetic fleet of degrading units."""

from __future__ import annotations

from functools import partial

import numpy as np

from futago.analytics.rul import DegradationFeatures, GradientBoostingRUL, RidgeRUL, run_to_failure_rul
from tests.analytics.checks import Case


def synthetic_fleet(
    n_units: int, seed: int, min_life: int = 120, max_life: int = 260
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-to-failure histories: ``(readings, units, lives)``.

    Five sensors: three drift exponentially as wear grows (each with its own gain and noise), one is flat and one
    is quantised noise, like C-MAPSS's useless sensors. Wear is ``exp(4 t / life)`` scaled to 1 at failure, so
    the early cycles look healthy and the signal only shows in the last third of a life.
    """
    rng = np.random.default_rng(seed)
    lives = rng.integers(min_life, max_life, size=n_units)
    gains = np.array([2.0, -1.5, 1.0])
    blocks, units = [], []
    for unit, life in enumerate(lives, start=1):
        t = np.arange(1, life + 1, dtype=np.float64)
        wear = np.expm1(4.0 * t / life) / np.expm1(4.0)
        drifting = wear[:, None] * gains + rng.normal(scale=0.15, size=(life, 3))
        flat = np.full((life, 1), 100.0)
        quantised = np.round(rng.normal(scale=0.2, size=(life, 1)))
        blocks.append(np.hstack([drifting, flat, quantised]))
        units.append(np.full(life, unit))
    return np.vstack(blocks), np.concatenate(units), lives


_readings, _units, _ = synthetic_fleet(12, seed=3)
_features = DegradationFeatures(window=10)
X = _features.fit_transform(_readings, _units)
y = run_to_failure_rul(_units, len(_units), cap=125.0)
_test_readings, _test_units, _ = synthetic_fleet(3, seed=4)
X_test = _features.transform(_test_readings, _test_units)

CASES = [
    # Few rounds: the checks fit many times, and the protocol holds at any size.
    Case("rul_gbm", partial(GradientBoostingRUL, max_iter=30), X, y, X_test=X_test),
    Case("rul_ridge", RidgeRUL, X, y, X_test=X_test, streaming_tolerance=1e-6),
]
