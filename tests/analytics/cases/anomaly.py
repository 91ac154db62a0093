"""Protocol cases for the anomaly detectors."""

from __future__ import annotations

import numpy as np

from futago.analytics.anomaly.robust import RobustZScore
from tests.analytics.checks import Case

_rng = np.random.default_rng(7)
_X = _rng.normal(size=(300, 3))
_X_test = np.vstack([_rng.normal(size=(50, 3)), _rng.normal(loc=6.0, size=(10, 3))])

CASES = [
    Case("robust_z", RobustZScore, _X, X_test=_X_test, streaming_tolerance=1e-9),
]
