"""Rolling-origin backtesting (time-series cross-validation): how good is a forecaster at each lead time?

A forecast is judged on data after its origin only, never on the history it learned. Origins start at
``initial`` and move by ``step``; at each the model learns ``y[:origin]`` and forecasts ``horizon`` steps,
compared with ``y[origin:origin + horizon]``. Every model of a ``compare`` call sees the same origins, so a
difference in error is a difference between models, not between test periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics import metrics
from futago.analytics.forecast.calendar import as_datetimes
from futago.analytics.protocol import FloatArray, Forecaster
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

#: Metrics reported per lead time and per origin (the full ``metrics.summary`` is in ``aggregate``).
STEP_METRICS: tuple[str, ...] = ("rmse", "mae", "mape")


@dataclass(frozen=True)
class BacktestResult:
    """Forecasts and errors of one model over rolling origins.

    ``y_true``, ``y_pred`` (and ``lower``/``upper`` when intervals were asked for) are ``(n_origins, horizon)``:
    row ``i`` is the forecast made at ``origins[i]``, column ``j`` the lead time ``j + 1``. ``per_horizon[m]``
    is metric ``m`` per lead time (length ``horizon``), ``per_origin[m]`` per origin, and ``aggregate`` the
    ``metrics.summary`` of every forecast pooled (with ``coverage`` when intervals were asked for).
    """

    model: str
    origins: np.ndarray
    y_true: FloatArray
    y_pred: FloatArray
    lower: FloatArray | None
    upper: FloatArray | None
    per_horizon: dict[str, FloatArray]
    per_origin: dict[str, FloatArray]
    aggregate: dict[str, float]

    @property
    def horizon(self) -> int:
        return int(self.y_true.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (NaN stays NaN: the caller's encoder decides)."""
        return {
            "model": self.model,
            "origins": [int(o) for o in self.origins],
            "horizon": self.horizon,
            "per_horizon": {k: [float(v) for v in values] for k, values in self.per_horizon.items()},
            "per_origin": {k: [float(v) for v in values] for k, values in self.per_origin.items()},
            "aggregate": dict(self.aggregate),
        }


def rolling_origins(n: int, *, initial: int, horizon: int, step: int = 1) -> np.ndarray:
    """Origins ``initial, initial + step, …`` whose whole horizon lies within ``n`` observations."""
    for name, value in (("initial", initial), ("horizon", horizon), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InvalidInput([Problem(f"/{name}", f"{name} must be an integer ≥ 1, got {value!r}")])
    origins = np.arange(initial, n - horizon + 1, step, dtype=np.int64)
    if origins.size == 0:
        raise InvalidInput(
            [Problem("/y", f"{n} observations leave no origin with initial={initial} and horizon={horizon}")]
        )
    return origins


def backtest(
    model: Forecaster,
    y: ArrayLike,
    X: ArrayLike | None = None,
    *,
    initial: int,
    horizon: int,
    step: int = 1,
    timestamps: ArrayLike | None = None,
    refit: bool = True,
    alpha: float | None = None,
) -> BacktestResult:
    """Backtest ``model`` (left unfitted: clones are fitted) on the series ``y`` with exogenous ``X``.

    ``refit=True`` fits a fresh clone at every origin: the honest default. ``refit=False`` fits once on
    ``y[:initial]`` and moves to later origins with ``learn_one`` (streaming forecasters only): much cheaper,
    and what a deployed twin that never refits would see. ``alpha`` also records ``predict_interval`` bounds.
    """
    target, inputs, stamps = _series(y, X, timestamps)
    origins = rolling_origins(target.shape[0], initial=initial, horizon=horizon, step=step)
    if not refit and not model.tags.get("streaming", False):
        raise InvalidInput([Problem("/refit", f"refit=False needs a streaming forecaster; {model.name} is not")])
    truth = np.stack([target[o : o + horizon] for o in origins])
    predicted = np.empty_like(truth)
    bounds = (np.empty_like(truth), np.empty_like(truth)) if alpha is not None else None
    fitted: Forecaster | None = None
    position = 0
    for row, origin in enumerate(origins):
        if refit or fitted is None:
            fitted = _fit_clone(model, target, inputs, stamps, int(origin))
        else:
            for t in range(position, int(origin)):
                fitted.learn_one(inputs[t], float(target[t]))
        position = int(origin)
        future = inputs[origin : origin + horizon]
        predicted[row] = fitted.predict(future)
        if bounds is not None and alpha is not None:
            bounds[0][row], bounds[1][row] = fitted.predict_interval(future, alpha)
    return _result(model.name, origins, truth, predicted, bounds)


def compare(
    models: Mapping[str, Forecaster],
    y: ArrayLike,
    X: ArrayLike | None = None,
    *,
    initial: int,
    horizon: int,
    step: int = 1,
    timestamps: ArrayLike | None = None,
    refit: bool = True,
    alpha: float | None = None,
) -> dict[str, BacktestResult]:
    """Backtest several models on identical origins; keys are the caller's labels."""
    return {
        label: backtest(
            model, y, X, initial=initial, horizon=horizon, step=step, timestamps=timestamps, refit=refit, alpha=alpha
        )
        for label, model in models.items()
    }


def ranking(results: Mapping[str, BacktestResult], metric: str = "rmse") -> list[tuple[str, float]]:
    """Labels sorted best first by the pooled ``metric`` (lower is better for errors, higher for r2/nse/kge/r)."""
    higher_is_better = metric in {"r2", "nse", "kge", "pearson_r"}
    scored = [(label, float(result.aggregate[metric])) for label, result in results.items()]
    return sorted(scored, key=lambda item: (np.isnan(item[1]), -item[1] if higher_is_better else item[1]))


# helpers -----------------------------------------------------------------------------------------
def _series(
    y: ArrayLike, X: ArrayLike | None, timestamps: ArrayLike | None
) -> tuple[FloatArray, FloatArray, np.ndarray | None]:
    try:
        target = np.asarray(y, dtype=np.float64).reshape(-1)
        n = target.shape[0]
        inputs = np.empty((n, 0)) if X is None else np.asarray(X, dtype=np.float64).reshape(n, -1)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem("/X", f"y and X must be numbers, one row of X per value of y ({exc})")]) from exc
    stamps = None if timestamps is None else as_datetimes(timestamps)
    if stamps is not None and stamps.shape[0] != target.shape[0]:
        raise InvalidInput([Problem("/timestamps", f"{stamps.shape[0]} timestamps for {target.shape[0]} values")])
    return target, inputs, stamps


def _fit_clone(model: Forecaster, y: FloatArray, X: FloatArray, stamps: np.ndarray | None, end: int) -> Forecaster:
    fresh = model.clone()
    if stamps is None:
        return fresh.fit(X[:end], y[:end])
    return fresh.fit(X[:end], y[:end], timestamps=stamps[:end])  # type: ignore[call-arg]


def _result(
    name: str,
    origins: np.ndarray,
    truth: FloatArray,
    predicted: FloatArray,
    bounds: tuple[FloatArray, FloatArray] | None,
) -> BacktestResult:
    lower, upper = bounds if bounds is not None else (None, None)

    def step_metrics(axis: int) -> dict[str, FloatArray]:
        count = truth.shape[1 - axis]
        table: dict[str, FloatArray] = {}
        for metric in STEP_METRICS:
            function = getattr(metrics, metric)
            table[metric] = np.array([function(_take(truth, axis, i), _take(predicted, axis, i)) for i in range(count)])
        if lower is not None and upper is not None:
            table["coverage"] = np.array(
                [
                    metrics.interval_coverage(_take(truth, axis, i), _take(lower, axis, i), _take(upper, axis, i))
                    for i in range(count)
                ]
            )
        return table

    return BacktestResult(
        model=name,
        origins=origins,
        y_true=truth,
        y_pred=predicted,
        lower=lower,
        upper=upper,
        per_horizon=step_metrics(axis=0),
        per_origin=step_metrics(axis=1),
        aggregate=metrics.summary(truth, predicted, lower, upper),
    )


def _take(table: FloatArray, axis: int, index: int) -> FloatArray:
    """Column ``index`` (axis 0: one lead time over all origins) or row ``index`` (axis 1: one origin)."""
    return table[:, index] if axis == 0 else table[index, :]
