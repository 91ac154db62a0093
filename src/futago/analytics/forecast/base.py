"""What every futago forecaster shares: input checks, the time axis, the forecast cursor and the warm-up.

Semantics, the same for every model here:

* ``fit(X, y, timestamps=None)``: ``y`` is the history, one value per row of ``X`` (exogenous inputs, or zero
  columns). ``timestamps`` (optional, regular) anchors row positions to the clock; models with calendar
  features need it, the others just keep it so ``future_timestamps(h)`` can label a forecast.
* ``predict(X_future)``: one value per future step, from the end of the learned history. It has no side
  effect on the forecast origin, so it can be called any number of times.
* ``predict_one(x)``: the forecast for the next step that has been neither observed nor forecast yet; each
  call moves that cursor one step further. Called ``h`` times on the rows of ``X_future`` it gives exactly
  ``predict(X_future)``, and in a live loop (``predict_one`` then ``learn_one`` each tick) it is the one-step
  forecast. ``learn_one(x, y)`` observes the step under the cursor (or past it) and moves the cursor back.
* Streaming models (tag ``streaming``) buffer ``learn_one`` observations until they have enough history to
  estimate their parameters, fit once, and afterwards update their state per observation.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from futago.analytics.forecast.calendar import TimeAxis
from futago.analytics.protocol import FloatArray, Forecaster, check_X, check_y
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


class FitWarning(UserWarning):
    """A fit finished but its estimate may be poor (the optimiser did not converge). One line, not a flood:
    the full statsmodels messages are kept on the model's ``fit_warnings_``."""


class _BaseForecaster(Forecaster):
    """Shared machinery; subclasses implement ``_fit(X, y)``, ``_forecast(X_future)`` and ``_min_history()``.

    Private by name so that the protocol suite does not take it for a shipped model.
    """

    n_obs_: int
    n_features_: int
    time_axis_: TimeAxis | None

    def fit(self, X: ArrayLike, y: ArrayLike | None = None, *, timestamps: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        target = check_y(self, y, data.shape[0])
        axis = None if timestamps is None else TimeAxis.from_timestamps(timestamps, data.shape[0])
        self._check_length(target.shape[0])
        self._forget()
        self.n_obs_ = int(target.shape[0])
        self.n_features_ = int(data.shape[1])
        self.time_axis_ = axis
        self._pending: list[FloatArray] = []
        try:
            self._fit(data, target)
        except BaseException:
            self._forget()  # a half-fitted model must not pass for a fitted one
            raise
        return self

    def _forget(self) -> None:
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)

    def _check_length(self, n: int) -> None:
        need = self._min_history()
        if n < need:
            raise InvalidInput([Problem("/y", f"{self.name}: needs at least {need} observations, got {n}")])

    def predict(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        if data.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self._forecast(data), dtype=np.float64).reshape(-1)

    def predict_one(self, x: ArrayLike) -> float:
        self._require_fitted()
        row = check_X(self, np.asarray(x, dtype=np.float64).reshape(1, -1), n_features=self.n_features_)
        pending = [*self._pending, row[0]]
        value = float(self._forecast(np.vstack(pending))[-1])
        self._pending = pending
        return value

    def future_timestamps(self, h: int) -> NDArray[np.datetime64]:
        """Timestamps of the next ``h`` steps; needs ``fit(..., timestamps=...)``."""
        self._require_fitted()
        if self.time_axis_ is None:
            raise InvalidInput([Problem("/timestamps", f"{self.name}: fitted without timestamps")])
        return self.time_axis_.at(np.arange(self.n_obs_, self.n_obs_ + h))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if self.is_fitted:
            info["n_obs"] = self.n_obs_
        return info

    # for subclasses -----------------------------------------------------------------------------
    def _min_history(self) -> int:
        return 1

    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        raise NotImplementedError

    def _forecast(self, X: FloatArray) -> FloatArray:
        raise NotImplementedError


class _StreamingForecaster(_BaseForecaster):
    """A forecaster whose ``learn_one`` appends one observation and updates its state in O(1) or close to it.

    Before the first fit it buffers observations and fits as soon as it has ``_min_history()`` of them.
    Subclasses implement ``_update(x, y)``.
    """

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        row = np.asarray(x, dtype=np.float64).reshape(1, -1)
        row = check_X(self, row, n_features=self.n_features_ if self.is_fitted else None)
        value = check_y(self, None if y is None else [y], 1)[0]
        if not self.is_fitted:
            buffer_X: list[FloatArray] = getattr(self, "_warmup_X", [])
            buffer_y: list[float] = getattr(self, "_warmup_y", [])
            if buffer_X and buffer_X[0].shape[0] != row.shape[1]:
                raise InvalidInput([Problem("/x", f"{self.name}: rows changed width during warm-up")])
            buffer_X.append(row[0])
            buffer_y.append(float(value))
            self._warmup_X, self._warmup_y = buffer_X, buffer_y
            if len(buffer_y) >= self._min_history():
                self.fit(np.vstack(buffer_X), np.asarray(buffer_y))
                del self._warmup_X, self._warmup_y
            return self
        self._update(row[0], float(value))
        self.n_obs_ += 1
        self._pending = self._pending[1:]
        return self

    def _update(self, x: FloatArray, y: float) -> None:
        raise NotImplementedError


@contextmanager
def captured_fit_warnings(model: _BaseForecaster) -> Iterator[list[str]]:
    """Collect the warnings a third-party fit emits instead of letting each one reach the console.

    The messages land in the yielded list (the caller keeps them as ``fit_warnings_``). If one of them says the
    optimiser did not converge, one ``FitWarning`` with a fixed text is raised, which Python's default filter
    shows once per place rather than once per backtest fold.
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    converged = True
    for item in caught:
        text = f"{item.category.__name__}: {item.message}"
        if text not in messages:
            messages.append(text)
        if item.category.__name__ == "ConvergenceWarning":
            converged = False
    if not converged:
        warnings.warn(
            f"{model.name}: the optimiser did not converge; the estimate may be poor (see fit_warnings_)",
            FitWarning,
            stacklevel=4,
        )


def check_alpha(model: _BaseForecaster, alpha: float) -> float:
    """``alpha`` is the miss rate of an interval (0.1 → 90 % coverage), strictly between 0 and 1."""
    if not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 1.0:
        raise InvalidInput([Problem("/alpha", f"{model.name}: alpha must lie strictly between 0 and 1, got {alpha}")])
    return float(alpha)


def check_positive_int(model: _BaseForecaster, value: object, name: str, minimum: int = 1) -> int:
    """Parameters are validated at fit, not in ``__init__`` (the protocol keeps ``__init__`` free of work)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < minimum:
        raise InvalidInput([Problem(f"/{name}", f"{model.name}: {name} must be an integer ≥ {minimum}, got {value!r}")])
    return int(value)
