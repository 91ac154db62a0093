"""Conformal prediction intervals around any forecaster, calibrated per horizon step on held-out forecasts.

Why conformal: model-based intervals (Gaussian ETS or SARIMA variances) are only as good as the model's
assumptions, and tree models have none. Conformal intervals use the model's actual errors on data it was not
fitted to: over ``n_windows`` forecast origins at the end of the history, the absolute error of each lead time
``1..horizon`` is recorded, and the interval half-width for lead ``j`` is the ``⌈(n+1)(1-α)⌉ / n`` empirical
quantile of the errors at that lead. Errors grow with lead time, so one width for every step would be too
wide at first and too narrow later; hence one quantile per step. Coverage is guaranteed for exchangeable
errors and close to nominal for a stationary series; a regime change breaks it, as it breaks every interval.

Two ways to produce the held-out forecasts (``refit``):

* streaming forecasters (default when the wrapped model has the ``streaming`` tag): fit once on the history
  before the first origin, then move through the calibration tail with ``learn_one`` (split conformal: the
  parameters never see the tail, only the state does). The same model, advanced to the end, makes the
  forecasts. Cheap: one fit.
* any forecaster (``refit=True``): refit a clone at every origin (rolling-origin calibration), then refit on
  the whole history for the forecasts. ``n_windows`` fits.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.forecast.base import _BaseForecaster, check_alpha, check_positive_int
from futago.analytics.protocol import FloatArray, Forecaster, check_X, check_y
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


class ConformalForecaster(_BaseForecaster):
    """Wrap ``forecaster`` so that ``predict_interval(X, alpha)`` gives calibrated intervals for up to ``horizon``
    steps; ``predict`` is the wrapped model's forecast.

    ``n_windows`` calibration origins, ``step`` apart, end ``horizon`` steps before the end of the history, so
    the last one's forecast is fully observed. ``n_windows`` must be at least ``1/alpha - 1`` for the quantile
    to exist (19 for 90 %); a few hundred give stable widths.

    After ``fit``, ``learn_one`` passes the observation to the wrapped model when it streams; the calibrated
    widths stay as they are until the next ``fit``.
    """

    name: ClassVar[str] = "conformal"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        forecaster: Forecaster,
        horizon: int = 1,
        n_windows: int = 100,
        step: int = 1,
        refit: bool | None = None,
    ) -> None:
        self.forecaster = forecaster
        self.horizon = horizon
        self.n_windows = n_windows
        self.step = step
        self.refit = refit

    forecaster_: Forecaster
    errors_: FloatArray
    origins_: list[int]

    def _min_history(self) -> int:
        horizon = check_positive_int(self, self.horizon, "horizon")
        windows = check_positive_int(self, self.n_windows, "n_windows")
        step = check_positive_int(self, self.step, "step")
        return horizon + step * (windows - 1) + 1

    def _streams(self) -> bool:
        streaming = bool(self.forecaster.tags.get("streaming", False))
        if self.refit is False and not streaming:
            message = f"{self.name}: refit=False needs a streaming forecaster, not {self.forecaster.name}"
            raise InvalidInput([Problem("/refit", message)])
        return streaming and self.refit is not True

    def _fit_clone(self, X: FloatArray, y: FloatArray, end: int) -> Forecaster:
        model = self.forecaster.clone()
        extra: dict[str, Any] = {}
        if self.time_axis_ is not None:
            extra["timestamps"] = self.time_axis_.at(np.arange(end))
        return model.fit(X[:end], y[:end], **extra)

    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        horizon = int(self.horizon)
        n = y.shape[0]
        origins = [n - horizon - int(self.step) * k for k in range(int(self.n_windows))][::-1]
        errors = np.empty((len(origins), horizon))
        if self._streams():
            model = self._fit_clone(X, y, origins[0])
            position = origins[0]
            for row, origin in enumerate(origins):
                for t in range(position, origin):
                    model.learn_one(X[t], float(y[t]))
                position = origin
                errors[row] = y[origin : origin + horizon] - model.predict(X[origin : origin + horizon])
            for t in range(position, n):
                model.learn_one(X[t], float(y[t]))
            self.forecaster_ = model
        else:
            for row, origin in enumerate(origins):
                model = self._fit_clone(X, y, origin)
                errors[row] = y[origin : origin + horizon] - model.predict(X[origin : origin + horizon])
            self.forecaster_ = self._fit_clone(X, y, n)
        self.errors_ = errors
        self.origins_ = origins

    def _forecast(self, X: FloatArray) -> FloatArray:
        return self.forecaster_.predict(X)

    def describe(self) -> dict[str, Any]:
        """Provenance includes the wrapped model, which a plain parameter dump would drop (it is not JSON)."""
        info = super().describe()
        info["params"]["forecaster"] = self.forecaster.describe()
        return info

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        if not self.is_fitted:
            raise NotImplementedError(f"{self.name} cannot start from nothing: fit it first to calibrate")
        row = check_X(self, np.asarray(x, dtype=np.float64).reshape(1, -1), n_features=self.n_features_)
        value = check_y(self, None if y is None else [y], 1)[0]
        self.forecaster_.learn_one(row[0], float(value))
        self.n_obs_ += 1
        self._pending = self._pending[1:]
        return self

    def quantiles(self, alpha: float = 0.1) -> FloatArray:
        """Interval half-width per lead time ``1..horizon`` at miss rate ``alpha``."""
        self._require_fitted()
        miss = check_alpha(self, alpha)
        n = self.errors_.shape[0]
        level = math.ceil((n + 1) * (1.0 - miss)) / n
        if level > 1.0:
            need = math.ceil(1.0 / miss) - 1
            raise InvalidInput([Problem("/alpha", f"{self.name}: alpha={miss} needs n_windows ≥ {need}, have {n}")])
        result: FloatArray = np.quantile(np.abs(self.errors_), level, axis=0, method="higher")
        return result

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        center = self.predict(X)
        if center.shape[0] > self.errors_.shape[1]:
            raise InvalidInput(
                [Problem("/X", f"{self.name}: calibrated for {self.errors_.shape[1]} steps, asked {center.shape[0]}")]
            )
        half = self.quantiles(alpha)[: center.shape[0]]
        return center - half, center + half
