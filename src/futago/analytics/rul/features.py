"""Degradation features over an asset's history, for remaining-useful-life models.

A history is a 2-D array with one row per cycle (or time step) and one column per sensor, oldest row first: a
twin's telemetry history, or a whole fleet's stacked with ``groups`` naming the unit of each row. Raw readings are
a poor input for RUL: they are noisy, the operating condition moves them more than wear does, and some sensors
never move at all. :class:`DegradationFeatures` turns each row into

* the current reading, standardised per operating condition (so a change of regime is not read as wear);
* its mean over the last ``window`` cycles (the noise-free level of the reading);
* its least-squares slope over the same window (how fast the asset is degrading now);
* the age: how many cycles of history the unit has so far (degradation is slow, so age carries signal).

Each feature at row ``t`` uses rows ``≤ t`` of the same unit only, so the same transform serves training on
run-to-failure histories and live estimation on a twin whose history ends now. Early rows, with fewer than
``window`` cycles behind them, use the rows there are (an expanding window), as a young asset would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.cluster import KMeans

from futago.analytics.protocol import NotFittedError
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_PARAMS = ("window", "constant_share", "n_conditions", "include_age", "random_state")
# A standard deviation below this (in the column's own units) is taken as zero: the column is flat there.
_TINY = 1e-12


def rolling_mean_slope(values: ArrayLike, window: int) -> tuple[FloatArray, FloatArray]:
    """Mean and least-squares slope (per row) of each column over the last ``window`` rows, this row included.

    Row ``t`` uses rows ``max(0, t - window + 1) .. t``; the first row's slope is 0 (one point has no trend).
    Full windows are computed as convolutions with fixed kernels rather than differences of running sums, which
    would lose precision on histories of millions of rows.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if window < 1:
        raise InvalidInput([Problem("/window", f"window must be at least 1 row, got {window}")])
    n = data.shape[0]
    mean = np.empty_like(data)
    slope = np.zeros_like(data)
    # Partial windows (the first window - 1 rows): running sums are exact enough here, t < window.
    head = min(n, window - 1)
    if head:
        count = np.arange(1, head + 1, dtype=np.float64)[:, None]
        t = np.arange(head, dtype=np.float64)[:, None]
        sum_z = np.cumsum(data[:head], axis=0)
        sum_tz = np.cumsum(t * data[:head], axis=0)
        sum_t = np.cumsum(t, axis=0)
        sum_tt = np.cumsum(t * t, axis=0)
        mean[:head] = sum_z / count
        denominator = count * sum_tt - sum_t * sum_t
        safe = np.where(denominator > 0, denominator, 1.0)
        slope[:head] = np.where(denominator > 0, (count * sum_tz - sum_t * sum_z) / safe, 0.0)
    if n >= window:
        centred = np.arange(window, dtype=np.float64) - (window - 1) / 2
        norm = float(np.sum(centred * centred))
        # np.convolve flips its kernel, so the slope kernel is given reversed.
        slope_kernel = centred[::-1] / norm if norm > 0 else np.zeros(window)
        mean_kernel = np.full(window, 1.0 / window)
        for j in range(data.shape[1]):
            mean[window - 1 :, j] = np.convolve(data[:, j], mean_kernel, mode="valid")
            slope[window - 1 :, j] = np.convolve(data[:, j], slope_kernel, mode="valid")
    return mean, slope


def unit_runs(groups: ArrayLike | None, n_rows: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of each unit, in order. Rows of a unit must be contiguous and oldest first;
    ``groups`` None means the whole history is one unit."""
    if groups is None:
        return [(0, n_rows)] if n_rows else []
    labels = np.asarray(groups).reshape(-1)
    if labels.shape[0] != n_rows:
        raise InvalidInput([Problem("/groups", f"groups has {labels.shape[0]} values for {n_rows} rows")])
    if n_rows == 0:
        return []
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    stops = np.r_[starts[1:], n_rows]
    firsts = labels[starts]
    if len(np.unique(firsts)) != len(firsts):
        raise InvalidInput([Problem("/groups", "the rows of each unit must be contiguous (sort by unit, then time)")])
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def run_to_failure_rul(groups: ArrayLike | None, n_rows: int, cap: float | None = None) -> FloatArray:
    """Training targets for histories that end in failure: cycles left after each row (0 at the last row).

    With ``cap``, the piecewise-linear target of Heimes (2008): a healthy asset's RUL cannot be read off its
    sensors, so early rows are all labelled ``cap`` and the target only falls once wear could show.
    """
    target = np.empty(n_rows, dtype=np.float64)
    for start, stop in unit_runs(groups, n_rows):
        target[start:stop] = np.arange(stop - start - 1, -1, -1, dtype=np.float64)
    return target if cap is None else np.minimum(target, cap)


def _as_table(values: ArrayLike, pointer: str, n_rows: int | None = None) -> FloatArray:
    try:
        table = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem(pointer, f"readings must be numbers ({exc})")]) from exc
    if table.ndim == 1:
        table = table.reshape(-1, 1)
    if table.ndim != 2:
        raise InvalidInput([Problem(pointer, f"must be 2-D (rows = cycles, columns = sensors), got {table.ndim}-D")])
    if n_rows is not None and table.shape[0] != n_rows:
        raise InvalidInput([Problem(pointer, f"has {table.shape[0]} rows for {n_rows} rows of history")])
    if not np.isfinite(table).all():
        raise InvalidInput([Problem(pointer, "contains NaN or infinity; fill or drop those cycles first")])
    return table


class DegradationFeatures:
    """Per-cycle features of an asset's history for RUL models: see the module docstring.

    A transformer, not a model: ``fit`` learns which sensors to keep and how to standardise them, ``transform``
    gives one feature row per history row. Parameters follow the same rules as models (stored unchanged, no work
    in ``__init__``; learned state ends in ``_``).

    * ``window``: cycles in the rolling mean and slope. 70 was chosen by 5-fold cross-validation over the
      C-MAPSS FD001 training engines grouped by unit (see ``futago.analytics.evaluation.cmapss``).
    * ``constant_share``: a sensor that reads its most common value in at least this share of training rows is
      dropped: it carries no wear signal, only quantisation noise (FD001 sensors 1, 5, 6, 10, 16, 18, 19).
    * ``n_conditions``: operating regimes. 1 standardises each sensor once; more clusters the ``settings``
      (altitude, Mach, throttle…) with k-means and standardises each sensor within its regime.
    * ``include_age``: append the number of cycles of history so far as the last feature.
    """

    def __init__(
        self,
        window: int = 70,
        constant_share: float = 0.95,
        n_conditions: int = 1,
        include_age: bool = True,
        random_state: int = 0,
    ) -> None:
        self.window = window
        self.constant_share = constant_share
        self.n_conditions = n_conditions
        self.include_age = include_age
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PARAMS}

    def clone(self) -> DegradationFeatures:
        """A new, unfitted transformer with the same parameters (one per cross-validation fold)."""
        return DegradationFeatures(**self.get_params())

    # fitting ------------------------------------------------------------------------------------
    def fit(
        self,
        history: ArrayLike,
        groups: ArrayLike | None = None,
        settings: ArrayLike | None = None,
        names: Sequence[str] | None = None,
    ) -> Self:
        """Learn kept sensors, operating regimes and per-regime scales from training histories."""
        self._check_params()
        table = _as_table(history, "/history")
        unit_runs(groups, table.shape[0])
        if names is not None and len(names) != table.shape[1]:
            raise InvalidInput([Problem("/names", f"{len(names)} names for {table.shape[1]} columns")])
        column_names = list(names) if names is not None else [f"x{j}" for j in range(table.shape[1])]
        shares = np.array([_mode_share(column) for column in table.T]) if table.shape[0] else np.ones(0)
        self.kept_ = np.flatnonzero(shares < self.constant_share)
        if self.kept_.size == 0:
            raise InvalidInput([Problem("/history", "every column is constant: there is nothing to learn from")])
        self.n_columns_ = table.shape[1]
        regimes = self._fit_regimes(settings, table.shape[0])
        kept = table[:, self.kept_]
        self.means_ = np.zeros((self.n_conditions, kept.shape[1]))
        self.scales_ = np.ones((self.n_conditions, kept.shape[1]))
        for regime in range(self.n_conditions):
            rows = kept[regimes == regime]
            if len(rows) == 0:
                continue
            self.means_[regime] = rows.mean(axis=0)
            spread = rows.std(axis=0)
            self.scales_[regime] = np.where(spread > _TINY, spread, 1.0)
        self.feature_names_ = self._names([column_names[j] for j in self.kept_])
        return self

    def _check_params(self) -> None:
        problems = []
        if not isinstance(self.window, int | np.integer) or self.window < 1:
            problems.append(Problem("/window", f"window must be a whole number of cycles ≥ 1, got {self.window!r}"))
        if not 0 < self.constant_share <= 1:
            problems.append(Problem("/constant_share", f"must be in (0, 1], got {self.constant_share!r}"))
        if not isinstance(self.n_conditions, int | np.integer) or self.n_conditions < 1:
            problems.append(Problem("/n_conditions", f"must be a whole number ≥ 1, got {self.n_conditions!r}"))
        if problems:
            raise InvalidInput(problems)

    def _fit_regimes(self, settings: ArrayLike | None, n_rows: int) -> IntArray:
        if self.n_conditions == 1:
            return np.zeros(n_rows, dtype=np.int64)
        if settings is None:
            raise InvalidInput([Problem("/settings", f"n_conditions={self.n_conditions} needs the settings")])
        table = _as_table(settings, "/settings", n_rows)
        self.settings_mean_ = table.mean(axis=0)
        spread = table.std(axis=0)
        self.settings_scale_ = np.where(spread > _TINY, spread, 1.0)
        # k-means on standardised settings: regimes are tight clusters (FD002 has six), so any seed finds them.
        self.regimes_ = KMeans(self.n_conditions, n_init=10, random_state=self.random_state)
        labels: IntArray = self.regimes_.fit_predict((table - self.settings_mean_) / self.settings_scale_)
        return labels.astype(np.int64)

    def _regimes(self, settings: ArrayLike | None, n_rows: int) -> IntArray:
        if self.n_conditions == 1:
            return np.zeros(n_rows, dtype=np.int64)
        if settings is None:
            raise InvalidInput([Problem("/settings", f"n_conditions={self.n_conditions} needs the settings")])
        table = _as_table(settings, "/settings", n_rows)
        labels: IntArray = self.regimes_.predict((table - self.settings_mean_) / self.settings_scale_)
        return labels.astype(np.int64)

    def _names(self, kept: list[str]) -> list[str]:
        names = list(kept)
        names += [f"{name}_mean{self.window}" for name in kept]
        names += [f"{name}_slope{self.window}" for name in kept]
        return [*names, "age"] if self.include_age else names

    # transforming -------------------------------------------------------------------------------
    def transform(
        self, history: ArrayLike, groups: ArrayLike | None = None, settings: ArrayLike | None = None
    ) -> FloatArray:
        """One feature row per history row: ``[standardised readings, window means, window slopes, age]``."""
        if not hasattr(self, "kept_"):
            raise NotFittedError("DegradationFeatures: call fit before transform")
        table = _as_table(history, "/history")
        if table.shape[1] != self.n_columns_:
            raise InvalidInput(
                [Problem("/history", f"expected {self.n_columns_} columns (as in fit), got {table.shape[1]}")]
            )
        runs = unit_runs(groups, table.shape[0])
        regimes = self._regimes(settings, table.shape[0])
        standard = (table[:, self.kept_] - self.means_[regimes]) / self.scales_[regimes]
        out = np.empty((table.shape[0], len(self.feature_names_)))
        k = standard.shape[1]
        for start, stop in runs:
            mean, slope = rolling_mean_slope(standard[start:stop], self.window)
            out[start:stop, :k] = standard[start:stop]
            out[start:stop, k : 2 * k] = mean
            out[start:stop, 2 * k : 3 * k] = slope
            if self.include_age:
                out[start:stop, -1] = np.arange(1, stop - start + 1, dtype=np.float64)
        return out

    def fit_transform(
        self,
        history: ArrayLike,
        groups: ArrayLike | None = None,
        settings: ArrayLike | None = None,
        names: Sequence[str] | None = None,
    ) -> FloatArray:
        return self.fit(history, groups, settings, names).transform(history, groups, settings)

    def transform_last(self, history: ArrayLike, settings: ArrayLike | None = None) -> FloatArray:
        """The feature row of one unit's latest cycle, shape ``(1, n_features)``: what a twin behaviour needs to
        ask a RUL model about now. Reads only the last ``window`` rows, so it stays cheap on long histories."""
        table = _as_table(history, "/history")
        if table.shape[0] == 0:
            raise InvalidInput([Problem("/history", "no cycles yet: a RUL estimate needs at least one")])
        tail = table[-self.window :]
        tail_settings = None if settings is None else _as_table(settings, "/settings", table.shape[0])[-self.window :]
        row = self.transform(tail, None, tail_settings)[-1:].copy()
        if self.include_age:
            row[0, -1] = float(table.shape[0])
        return row


def _mode_share(column: FloatArray) -> float:
    """Share of rows holding the column's most common value."""
    _, counts = np.unique(column, return_counts=True)
    return float(counts.max()) / len(column)
