"""Seasonal ARIMA with exogenous inputs (statsmodels' SARIMAX), fitted by maximum likelihood.

The columns of ``X`` are the exogenous regressors: the model needs their future values at predict time, as
any regression with inputs does. ``learn_one`` runs the Kalman filter one observation further with the
estimated parameters (``extend``), so following live telemetry costs milliseconds, not a refit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.forecast.base import _StreamingForecaster, captured_fit_warnings, check_alpha
from futago.analytics.protocol import FloatArray, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


class SARIMAForecaster(_StreamingForecaster):
    """SARIMA(``order``)(``seasonal_order``) with ``trend`` ('n', 'c', 't', 'ct' or None) and exogenous ``X``.

    Intervals are the model's own Gaussian ones (Kalman filter forecast variance). ``maxiter`` bounds the
    optimiser; when it stops before converging the model still answers, keeps the statsmodels messages on
    ``fit_warnings_`` and raises a single ``FitWarning``.
    """

    name: ClassVar[str] = "sarima"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**_StreamingForecaster.tags, "streaming": True}

    def __init__(
        self,
        order: Sequence[int] = (1, 0, 0),
        seasonal_order: Sequence[int] = (0, 0, 0, 0),
        trend: str | None = None,
        maxiter: int = 50,
    ) -> None:
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.maxiter = maxiter

    results_: Any
    params_: dict[str, float]
    fit_warnings_: list[str]

    def _orders(self) -> tuple[tuple[int, int, int], tuple[int, int, int, int]]:
        try:
            order = tuple(int(v) for v in self.order)
            seasonal = tuple(int(v) for v in self.seasonal_order)
        except (TypeError, ValueError) as exc:
            raise InvalidInput([Problem("/order", f"{self.name}: orders must be tuples of integers ({exc})")]) from exc
        if len(order) != 3 or min(order) < 0:
            raise InvalidInput([Problem("/order", f"{self.name}: order is (p, d, q) with integers ≥ 0")])
        if len(seasonal) != 4 or min(seasonal) < 0 or (any(seasonal[:3]) and seasonal[3] < 2):
            raise InvalidInput(
                [Problem("/seasonal_order", f"{self.name}: seasonal_order is (P, D, Q, s) with s ≥ 2 when used")]
            )
        return (order[0], order[1], order[2]), (seasonal[0], seasonal[1], seasonal[2], seasonal[3])

    def _min_history(self) -> int:
        (p, d, q), (big_p, big_d, big_q, s) = self._orders()
        lags = max(p + big_p * s, q + big_q * s, 1)
        return max(10, d + big_d * s + 2 * lags + 2)

    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        order, seasonal = self._orders()
        model = SARIMAX(y, exog=X if X.shape[1] else None, order=order, seasonal_order=seasonal, trend=self.trend)
        with captured_fit_warnings(self) as messages:
            self.results_ = model.fit(disp=False, maxiter=self.maxiter)
        self.fit_warnings_ = messages
        self.params_ = {str(k): float(v) for k, v in zip(model.param_names, self.results_.params, strict=True)}

    def _exog(self, X: FloatArray) -> FloatArray | None:
        return X if self.n_features_ else None

    def _forecast(self, X: FloatArray) -> FloatArray:
        return np.asarray(self.results_.forecast(steps=X.shape[0], exog=self._exog(X)), dtype=np.float64)

    def _update(self, x: FloatArray, y: float) -> None:
        # statsmodels restarts a time trend at zero in an extended model unless told where the series stands.
        offset = self.results_.model.trend_offset + self.results_.nobs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.results_ = self.results_.extend(np.array([y]), exog=self._exog(x.reshape(1, -1)), trend_offset=offset)

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        miss = check_alpha(self, alpha)
        center = self.predict(X)
        if center.shape[0] == 0:
            return center, center.copy()
        data = check_X(self, X, n_features=self.n_features_)
        bounds = np.asarray(
            self.results_.get_forecast(steps=center.shape[0], exog=self._exog(data)).conf_int(alpha=miss),
            dtype=np.float64,
        )
        return bounds[:, 0].copy(), bounds[:, 1].copy()
