"""Forecasting: baselines, statistical and tree models, conformal intervals and rolling-origin backtests.

Every forecaster follows ``futago.analytics.protocol.Forecaster``: ``fit(X, y, timestamps=None)`` on the
history (``X`` holds exogenous inputs or has zero columns), ``predict(np.empty((h, 0)))`` for an ``h``-step
forecast, ``predict_interval(X, alpha)`` for bounds, and ``predict_one``/``learn_one`` to follow a live
series (see ``base`` for the exact streaming semantics).

Which to use: ``SeasonalNaive`` is the baseline to beat; ``ETSForecaster`` for level, trend and season;
``SARIMAForecaster`` for autocorrelated series with linear exogenous effects; ``BoostingForecaster`` for
non-linear effects of calendar and inputs. ``ConformalForecaster`` puts calibrated intervals around any of
them, and ``compare`` backtests several on the same origins.
"""

from futago.analytics.forecast.backtest import BacktestResult, backtest, compare, ranking, rolling_origins
from futago.analytics.forecast.base import FitWarning
from futago.analytics.forecast.boosting import BoostingForecaster
from futago.analytics.forecast.calendar import CALENDAR_COLUMNS, TimeAxis, calendar_features
from futago.analytics.forecast.conformal import ConformalForecaster
from futago.analytics.forecast.ets import ETSForecaster
from futago.analytics.forecast.naive import SeasonalNaive
from futago.analytics.forecast.sarima import SARIMAForecaster

__all__ = [
    "CALENDAR_COLUMNS",
    "BacktestResult",
    "BoostingForecaster",
    "ConformalForecaster",
    "ETSForecaster",
    "FitWarning",
    "SARIMAForecaster",
    "SeasonalNaive",
    "TimeAxis",
    "backtest",
    "calendar_features",
    "compare",
    "ranking",
    "rolling_origins",
]
