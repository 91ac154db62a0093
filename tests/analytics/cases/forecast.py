"""Protocol cases for the forecasters: short seasonal series, with and without exogenous inputs.

``X_test`` is the future (a forecast horizon), not the history: a forecaster's ``predict`` rows are steps
after the end of ``y``.
"""

from __future__ import annotations

import numpy as np

from futago.analytics.forecast import (
    BoostingForecaster,
    ConformalForecaster,
    ETSForecaster,
    SARIMAForecaster,
    SeasonalNaive,
)
from tests.analytics.checks import Case

_rng = np.random.default_rng(11)
_n, _h, _period = 96, 12, 12
_t = np.arange(_n + _h)
_exog = _rng.normal(size=(_n + _h, 1))
_seasonal = 10.0 + 3.0 * np.sin(2 * np.pi * _t / _period) + 0.02 * _t + _rng.normal(0.0, 0.3, _n + _h)
_y = _seasonal[:_n]
_y_exog = (_seasonal + 2.0 * _exog[:, 0])[:_n]
_none, _future = np.empty((_n, 0)), np.empty((_h, 0))

CASES = [
    Case("seasonal_naive", lambda: SeasonalNaive(period=_period), _none, _y, X_test=_future, streaming_tolerance=1e-9),
    Case("ets", lambda: ETSForecaster(trend="add", seasonal="add", period=_period), _none, _y, X_test=_future),
    Case(
        "sarima_exog",
        lambda: SARIMAForecaster(order=(1, 0, 0), trend="c"),
        _exog[:_n],
        _y_exog,
        X_test=_exog[_n:],
    ),
    Case(
        "boosting_recursive_exog",
        lambda: BoostingForecaster(lags=2, period=_period, max_iter=20, refit_every=1),
        _exog[:_n],
        _y_exog,
        X_test=_exog[_n:],
        streaming_tolerance=1e-9,
    ),
    Case(
        "boosting_direct",
        lambda: BoostingForecaster(lags=2, period=_period, strategy="direct", horizon=6, max_iter=15, refit_every=1),
        _none,
        _y,
        X_test=_future[:6],
        streaming_tolerance=1e-9,
    ),
    Case(
        "conformal_naive",
        lambda: ConformalForecaster(SeasonalNaive(period=_period), horizon=6, n_windows=20),
        _none,
        _y,
        X_test=_future[:6],
    ),
]
