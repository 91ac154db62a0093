"""Protocol cases for the anomaly detectors.

Memoryless detectors on raw rows learn online exactly what ``fit`` learns, so their streaming predictions are
compared with the batch ones (``streaming_tolerance``). Detectors with a memory (a rolling mean, a rate of
change, a control chart) honestly differ there: the check's extra ``predict_one`` moves their stream on by one
row before the comparison, so they are compared step by step only (``check_predict_one_matches_predict``).
"""

from __future__ import annotations

import numpy as np

from futago.analytics.anomaly.ensemble import EnsembleDetector
from futago.analytics.anomaly.ewma import CUSUMChart, EWMAChart
from futago.analytics.anomaly.forest import IsolationForestDetector
from futago.analytics.anomaly.pca import PCADetector
from futago.analytics.anomaly.robust import RobustZScore
from tests.analytics.checks import Case

_rng = np.random.default_rng(7)
_X = _rng.normal(size=(300, 3))
_X_test = np.vstack([_rng.normal(size=(50, 3)), _rng.normal(loc=6.0, size=(10, 3))])

CASES = [
    Case("robust_z", RobustZScore, _X, X_test=_X_test, streaming_tolerance=1e-9),
    Case(
        "robust_z_conditioned",
        lambda: RobustZScore(smoothing=5, rate_columns=(2,), rate_lag=4),
        _X,
        X_test=_X_test,
    ),
    Case("pca_t2q", PCADetector, _X, X_test=_X_test),
    Case("pca_t2_raw", lambda: PCADetector(statistic="t2", smoothing=1), _X, X_test=_X_test, streaming_tolerance=1e-9),
    Case("pca_q_rates", lambda: PCADetector(statistic="q", rate_columns=(0, 1), rate_lag=3), _X, X_test=_X_test),
    Case("ewma", EWMAChart, _X, X_test=_X_test),
    Case("ewma_smoothed_rates", lambda: EWMAChart(lam=0.3, smoothing=3, rate_columns=(1,)), _X, X_test=_X_test),
    Case("cusum", CUSUMChart, _X, X_test=_X_test),
    Case("iforest", lambda: IsolationForestDetector(n_estimators=50), _X, X_test=_X_test),
    Case("ensemble", EnsembleDetector, _X, X_test=_X_test),
    Case(
        "ensemble_median_charts",
        lambda: EnsembleDetector(members=[EWMAChart(), CUSUMChart(), RobustZScore()], combine="median"),
        _X,
        X_test=_X_test,
    ),
]
