"""Error metrics shared by every futago model, evaluation and backtest, so a number means the same everywhere.

Every function takes array-likes (lists, NumPy arrays, pandas Series), flattens them, drops the pairs in which
either value is NaN (a gap in telemetry is not an error of the model), and raises ``InvalidInput`` when the
lengths differ. A metric that is undefined for the data left (no pairs, a constant truth for ``r2``/``nse``,
a constant series for ``pearson_r``/``kge``, a zero mean truth for ``kge``) is ``nan`` rather than an
exception: a backtest fold with a flat stretch should not abort the whole evaluation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

__all__ = [
    "interval_coverage",
    "kge",
    "mae",
    "mape",
    "nse",
    "pearson_r",
    "r2",
    "rmse",
    "summary",
]

_Array = NDArray[np.float64]


def _as_float(values: ArrayLike, name: str) -> _Array:
    try:
        return np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem(f"/{name}", f"values must be numbers ({exc})")]) from exc


def _aligned(*arrays: tuple[ArrayLike, str]) -> list[_Array]:
    """Flatten, check equal lengths, and keep the positions where no array is NaN."""
    converted = [_as_float(values, name) for values, name in arrays]
    lengths = {a.shape[0] for a in converted}
    if len(lengths) > 1:
        described = ", ".join(f"{name}: {a.shape[0]}" for a, (_, name) in zip(converted, arrays, strict=True))
        raise InvalidInput([Problem(f"/{arrays[1][1]}", f"lengths differ ({described})")])
    keep = np.ones(converted[0].shape[0], dtype=bool)
    for a in converted:
        keep &= ~np.isnan(a)
    return [a[keep] for a in converted]


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[_Array, _Array]:
    truth, pred = _aligned((y_true, "y_true"), (y_pred, "y_pred"))
    return truth, pred


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error, in the units of ``y``."""
    truth, pred = _pair(y_true, y_pred)
    if truth.size == 0:
        return math.nan
    return float(np.sqrt(np.mean((truth - pred) ** 2)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error, in the units of ``y``."""
    truth, pred = _pair(y_true, y_pred)
    if truth.size == 0:
        return math.nan
    return float(np.mean(np.abs(truth - pred)))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error in percent (``5.0`` means 5 %), not as a fraction.

    Pairs whose truth is exactly zero are skipped, because their percentage error is infinite; a series that
    crosses or touches zero (temperatures in °C, net flows) therefore gets a MAPE over its non-zero points only,
    and one that is all zeros gets ``nan``. Prefer ``mae`` or ``rmse`` for such series.
    """
    truth, pred = _pair(y_true, y_pred)
    nonzero = truth != 0.0
    if not nonzero.any():
        return math.nan
    return float(np.mean(np.abs((truth[nonzero] - pred[nonzero]) / truth[nonzero])) * 100.0)


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot`` (scikit-learn's ``r2_score``), not ``pearson_r²``.

    It is the same number as ``nse``; both names exist because machine learning and hydrology each expect theirs.
    ``nan`` when the truth is constant (``SS_tot = 0``).
    """
    truth, pred = _pair(y_true, y_pred)
    return _one_minus_ratio(truth, pred)


def nse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Nash–Sutcliffe efficiency (Nash & Sutcliffe 1970): 1 is perfect, 0 is no better than the mean of the truth,
    negative is worse than that mean. ``nan`` when the truth is constant."""
    truth, pred = _pair(y_true, y_pred)
    return _one_minus_ratio(truth, pred)


def _one_minus_ratio(truth: _Array, pred: _Array) -> float:
    if truth.size == 0:
        return math.nan
    ss_tot = float(np.sum((truth - truth.mean()) ** 2))
    if ss_tot == 0.0:
        return math.nan
    return 1.0 - float(np.sum((truth - pred) ** 2)) / ss_tot


def pearson_r(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Pearson correlation coefficient; ``nan`` with fewer than two pairs or when either side is constant."""
    truth, pred = _pair(y_true, y_pred)
    return _pearson(truth, pred)


def _pearson(truth: _Array, pred: _Array) -> float:
    if truth.size < 2:
        return math.nan
    dt = truth - truth.mean()
    dp = pred - pred.mean()
    denominator = math.sqrt(float(np.sum(dt**2)) * float(np.sum(dp**2)))
    if denominator == 0.0:
        return math.nan
    return float(np.clip(np.sum(dt * dp) / denominator, -1.0, 1.0))


def kge(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Kling–Gupta efficiency (Gupta et al. 2009): ``1 - sqrt((r-1)² + (α-1)² + (β-1)²)`` with ``r`` the Pearson
    correlation, ``α = σ_pred / σ_true`` and ``β = μ_pred / μ_true``. 1 is perfect; unlike NSE it separates
    timing (r), variability (α) and bias (β). ``nan`` when the truth has zero mean or either side is constant."""
    truth, pred = _pair(y_true, y_pred)
    r = _pearson(truth, pred)
    mean_true = float(truth.mean()) if truth.size else math.nan
    std_true = float(truth.std()) if truth.size else math.nan
    if math.isnan(r) or mean_true == 0.0 or std_true == 0.0:
        return math.nan
    alpha = float(pred.std()) / std_true
    beta = float(pred.mean()) / mean_true
    return 1.0 - math.sqrt((r - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2)


def interval_coverage(y: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Fraction (0–1) of the truths that lie within ``[lower, upper]``, bounds included."""
    truth, low, high = _aligned((y, "y"), (lower, "lower"), (upper, "upper"))
    if truth.size == 0:
        return math.nan
    return float(np.mean((truth >= low) & (truth <= high)))


def summary(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> dict[str, float]:
    """All point metrics at once, keyed ``rmse, mae, mape, r2, pearson_r, nse, kge``, plus ``coverage`` when both
    interval bounds are given. Lengths are checked once for all of them."""
    if (lower is None) != (upper is None):
        raise InvalidInput([Problem("/lower" if lower is None else "/upper", "give both interval bounds or neither")])
    truth, pred = _pair(y_true, y_pred)
    result = {
        "rmse": rmse(truth, pred),
        "mae": mae(truth, pred),
        "mape": mape(truth, pred),
        "r2": r2(truth, pred),
        "pearson_r": pearson_r(truth, pred),
        "nse": nse(truth, pred),
        "kge": kge(truth, pred),
    }
    if lower is not None and upper is not None:
        _aligned((y_true, "y_true"), (y_pred, "y_pred"), (lower, "lower"), (upper, "upper"))
        result["coverage"] = interval_coverage(y_true, lower, upper)
    return result
