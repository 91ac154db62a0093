"""Protocol cases for the remaining-useful-life regressors, on a small synthetic fleet of degrading units."""

from __future__ import annotations

from functools import partial

import numpy as np

from futago.analytics.rul import DegradationFeatures, GradientBoostingRUL, RidgeRUL, RULPipeline, run_to_failure_rul
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

# The pipeline takes raw readings; its runs are inferred from the (uncapped) target. Its test history is one unit,
# as a behaviour feeds it; with a cycle column the age comes from that column instead of the row count.
_raw_y = run_to_failure_rul(_units, len(_units))
_first_test = _test_readings[_test_units == 1]
_cycles = np.concatenate([np.arange(1, n + 1) for n in np.bincount(_units)[1:]]).astype(np.float64)[:, None]
_test_cycles = 40.0 + np.arange(1, len(_first_test) + 1)[:, None]  # a window that starts at the unit's cycle 41

CASES = [
    # Few rounds: the checks fit many times, and the protocol holds at any size.
    Case("rul_gbm", partial(GradientBoostingRUL, max_iter=30), X, y, X_test=X_test),
    Case("rul_ridge", RidgeRUL, X, y, X_test=X_test, streaming_tolerance=1e-6),
    Case(
        "rul_pipeline",
        partial(RULPipeline, window=10, regressor_params={"max_iter": 30}),
        _readings,
        _raw_y,
        X_test=_first_test,
    ),
    Case(
        "rul_pipeline_ridge_cycle",
        partial(RULPipeline, window=10, regressor="ridge", cycle_column=True),
        np.hstack([_cycles, _readings]),
        _raw_y,
        X_test=np.hstack([_test_cycles, _first_test]),
    ),
]
