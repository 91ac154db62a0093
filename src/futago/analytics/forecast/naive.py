"""Seasonal naive: tomorrow at 09:00 looks like today at 09:00. The baseline every other forecaster must beat."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from futago.analytics.forecast.base import _StreamingForecaster, check_alpha, check_positive_int
from futago.analytics.protocol import FloatArray
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


class SeasonalNaive(_StreamingForecaster):
    """Forecast for ``h`` steps ahead = the last observed value at the same phase of the season.

    ``period`` is the season length in steps (24 for hourly data with a daily cycle; 1 = plain naive, the last
    value). Exogenous columns of ``X`` are checked for shape and otherwise ignored, so the baseline can be run on
    exactly the data of a model that uses them.

    Intervals follow Hyndman & Athanasopoulos (FPP3 §5.5): the one-step error scale ``σ`` is the root mean square
    of the in-sample seasonal differences and grows as ``σ √(k+1)`` with ``k`` the number of whole seasons in
    the horizon. ``learn_one`` is exact: it shifts the stored season and updates ``σ``, so a model fed row by row
    equals one fitted on the same rows.
    """

    name: ClassVar[str] = "seasonal_naive"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**_StreamingForecaster.tags, "streaming": True}

    def __init__(self, period: int = 1) -> None:
        self.period = period

    last_season_: FloatArray
    sum_squared_errors_: float
    n_errors_: int

    def _min_history(self) -> int:
        return check_positive_int(self, self.period, "period")

    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        m = self._min_history()
        self.last_season_ = y[-m:].copy()
        differences = y[m:] - y[:-m]
        self.sum_squared_errors_ = float(np.sum(differences**2))
        self.n_errors_ = int(differences.shape[0])

    def _forecast(self, X: FloatArray) -> FloatArray:
        m = self.last_season_.shape[0]
        result: FloatArray = self.last_season_[np.arange(X.shape[0]) % m]
        return result

    def _update(self, x: FloatArray, y: float) -> None:
        error = y - float(self.last_season_[0])
        self.sum_squared_errors_ += error * error
        self.n_errors_ += 1
        self.last_season_ = np.append(self.last_season_[1:], y)

    @property
    def sigma_(self) -> float:
        """Root mean square one-season-ahead error of the history: the scale of the intervals."""
        return math.sqrt(self.sum_squared_errors_ / self.n_errors_) if self.n_errors_ else math.nan

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        level = check_alpha(self, alpha)
        center = self.predict(X)
        if not self.n_errors_:
            raise InvalidInput([Problem("/y", f"{self.name}: intervals need more than one season of history")])
        seasons_ahead = np.arange(center.shape[0]) // self.last_season_.shape[0]
        half = float(norm.ppf(1.0 - level / 2.0)) * self.sigma_ * np.sqrt(seasons_ahead + 1.0)
        return center - half, center + half
