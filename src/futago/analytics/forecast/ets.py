"""Exponential smoothing (Holt–Winters): statsmodels estimates the parameters, futago runs the state recursion.

Why not keep the statsmodels results object: its state cannot be advanced one observation at a time, and a
digital twin that follows live telemetry must not refit per sample. So ``fit`` takes the smoothing parameters
and initial states that statsmodels estimates, replays the Holt–Winters recursion over the history (the same
equations statsmodels uses, checked in the tests against its forecasts), and ``learn_one`` continues that
recursion in O(period) per observation with the parameters fixed. Call ``fit`` again to re-estimate them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from futago.analytics.forecast.base import (
    _StreamingForecaster,
    captured_fit_warnings,
    check_alpha,
    check_positive_int,
)
from futago.analytics.protocol import FloatArray
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


class ETSForecaster(_StreamingForecaster):
    """Holt–Winters exponential smoothing with optional (damped) additive trend and additive or multiplicative
    seasonality of ``period`` steps.

    Exogenous columns of ``X`` are checked for shape and ignored (exponential smoothing is univariate), so the
    model can be compared on the same data as models that use them. Intervals are Gaussian with the h-step
    variance ``σ² (1 + Σ c_j²)`` of the innovations form (Hyndman et al. 2008, class 1); the ``c_j`` are read off
    the recursion itself by a unit innovation, which is exact for additive models and a first-order
    approximation with multiplicative seasonality.
    """

    name: ClassVar[str] = "ets"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**_StreamingForecaster.tags, "streaming": True}

    def __init__(
        self,
        trend: str | None = None,
        damped: bool = False,
        seasonal: str | None = None,
        period: int | None = None,
    ) -> None:
        self.trend = trend
        self.damped = damped
        self.seasonal = seasonal
        self.period = period

    params_: dict[str, float]
    level_: float
    slope_: float
    season_: FloatArray
    sum_squared_errors_: float
    n_errors_: int
    fit_warnings_: list[str]

    # configuration -------------------------------------------------------------------------------
    def _season_length(self) -> int:
        if self.trend not in (None, "add"):
            raise InvalidInput([Problem("/trend", f"{self.name}: trend must be None or 'add', got {self.trend!r}")])
        if self.seasonal not in (None, "add", "mul"):
            raise InvalidInput(
                [Problem("/seasonal", f"{self.name}: seasonal must be None, 'add' or 'mul', got {self.seasonal!r}")]
            )
        if self.seasonal is None:
            return 0
        return check_positive_int(self, self.period, "period", minimum=2)

    def _min_history(self) -> int:
        m = self._season_length()
        return max(2 * m, 4 if self.trend else 2) + 1

    # fitting -------------------------------------------------------------------------------------
    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        m = self._season_length()
        if self.seasonal == "mul" and (y <= 0).any():
            raise InvalidInput([Problem("/y", f"{self.name}: multiplicative seasonality needs positive values")])
        with captured_fit_warnings(self) as messages:
            estimate = ExponentialSmoothing(
                y,
                trend=self.trend,
                damped_trend=bool(self.damped) and self.trend is not None,
                seasonal=self.seasonal,
                seasonal_periods=m or None,
                initialization_method="estimated",
            ).fit()
        self.fit_warnings_ = messages
        p = estimate.params
        self.params_ = {
            "alpha": float(p["smoothing_level"]),
            "beta": float(p["smoothing_trend"]) if self.trend else 0.0,
            "gamma": float(p["smoothing_seasonal"]) if m else 0.0,
            "phi": float(p["damping_trend"]) if self.trend and self.damped else 1.0,
        }
        self.level_ = float(p["initial_level"])
        self.slope_ = float(p["initial_trend"]) if self.trend else 0.0
        self.season_ = np.asarray(p["initial_seasons"], dtype=np.float64).copy() if m else np.empty(0)
        self.sum_squared_errors_ = 0.0
        self.n_errors_ = 0
        for value in y:
            self._update(np.empty(0), float(value))

    # the recursion -------------------------------------------------------------------------------
    def _state(self) -> tuple[float, float, FloatArray]:
        return self.level_, self.slope_, self.season_

    def _step(self, state: tuple[float, float, FloatArray], y: float) -> tuple[tuple[float, float, FloatArray], float]:
        """One Holt–Winters update (statsmodels' equations); returns the new state and the one-step error."""
        level, slope, season = state
        alpha, beta, gamma, phi = (self.params_[k] for k in ("alpha", "beta", "gamma", "phi"))
        base = level + phi * slope
        if self.seasonal == "add":
            s = float(season[0])
            forecast = base + s
            new_level = alpha * (y - s) + (1 - alpha) * base
            new_season = gamma * (y - base) + (1 - gamma) * s
        elif self.seasonal == "mul":
            s = float(season[0])
            forecast = base * s
            new_level = alpha * y / s + (1 - alpha) * base
            new_season = gamma * y / base + (1 - gamma) * s
        else:
            forecast = base
            new_level = alpha * y + (1 - alpha) * base
        new_slope = beta * (new_level - level) + (1 - beta) * phi * slope if self.trend else 0.0
        if season.shape[0]:
            season = np.append(season[1:], new_season)
        return (new_level, new_slope, season), y - forecast

    def _path(self, state: tuple[float, float, FloatArray], h: int) -> FloatArray:
        level, slope, season = state
        phi = self.params_["phi"]
        damping = np.cumsum(phi ** np.arange(1, h + 1)) if self.trend else np.zeros(h)
        base = level + damping * slope
        if not season.shape[0]:
            return base
        s = season[np.arange(h) % season.shape[0]]
        result: FloatArray = base * s if self.seasonal == "mul" else base + s
        return result

    def _forecast(self, X: FloatArray) -> FloatArray:
        return self._path(self._state(), X.shape[0])

    def _update(self, x: FloatArray, y: float) -> None:
        (self.level_, self.slope_, self.season_), error = self._step(self._state(), y)
        self.sum_squared_errors_ += error * error
        self.n_errors_ += 1

    # intervals -----------------------------------------------------------------------------------
    @property
    def sigma_(self) -> float:
        """Root mean square one-step error over everything learned so far."""
        return math.sqrt(self.sum_squared_errors_ / self.n_errors_) if self.n_errors_ else math.nan

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        miss = check_alpha(self, alpha)
        center = self.predict(X)
        h = center.shape[0]
        sigma = self.sigma_
        state = self._state()
        one_step = float(self._path(state, 1)[0])
        delta = sigma if sigma > 0 else 1.0
        shocked, _ = self._step(state, one_step + delta)
        calm, _ = self._step(state, one_step)
        c = (self._path(shocked, h - 1) - self._path(calm, h - 1)) / delta if h > 1 else np.empty(0)
        variance = sigma**2 * (1.0 + np.concatenate([[0.0], np.cumsum(c**2)]))
        half = float(norm.ppf(1.0 - miss / 2.0)) * np.sqrt(variance)
        return center - half, center + half
