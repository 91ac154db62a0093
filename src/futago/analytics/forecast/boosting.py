"""Gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor) on lag, season and calendar features.

The tabular route to forecasting: each target step becomes a row of features known at the forecast origin
(recent values, the value one season back, the phase in the season, the calendar of the target time and the
exogenous inputs at that time). Trees capture non-linear effects of weather or schedules that ETS and SARIMA
cannot, but they do not extrapolate a trend beyond the range of the history: detrend first, or prefer ETS.

Multi-step forecasts, two ways (``strategy``):

* ``"recursive"``: one model for one step ahead, fed its own predictions; cheap, errors can compound;
* ``"direct"``: one model per horizon step ``1..horizon``, each trained for its own lead time; no feedback of
  errors within the horizon, but ``horizon`` models to train. Beyond ``horizon`` the forecast continues in
  blocks: the next ``horizon`` steps start from the forecasts of the previous block, as in recursive mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits

from futago.analytics.forecast.base import _StreamingForecaster, check_positive_int
from futago.analytics.forecast.calendar import TimeAxis, calendar_features
from futago.analytics.protocol import FloatArray
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

IntArray = NDArray[np.int64]

#: Fewest training rows a tree model is allowed to learn from.
_MIN_ROWS = 10
#: Below this many rows one thread is faster: OpenMP start-up per boosting iteration outweighs the work,
#: by 5-20x on a busy two-core machine.
_SINGLE_THREAD_ROWS = 20_000


class BoostingForecaster(_StreamingForecaster):
    """Gradient boosting on ``lags`` recent values, the value ``period`` steps back and the phase in ``period``,
    the calendar of the target time (hour, weekday, day of year, month; only when fitted with ``timestamps``
    and ``calendar`` is true) and the exogenous columns of ``X`` at the target time.

    Streaming: ``learn_one`` appends the observation, so the lag features of the next forecast use it at once;
    the trees are re-trained lazily, at the next forecast after ``refit_every`` new observations (1 = always,
    which makes the model fed row by row identical to one fitted on the same rows). ``max_history`` bounds the
    training window (and memory) of a long-running twin.
    """

    name: ClassVar[str] = "boosting_forecaster"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**_StreamingForecaster.tags, "streaming": True}

    def __init__(
        self,
        lags: int = 3,
        period: int | None = None,
        calendar: bool = True,
        strategy: str = "recursive",
        horizon: int = 1,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        refit_every: int = 24,
        max_history: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.lags = lags
        self.period = period
        self.calendar = calendar
        self.strategy = strategy
        self.horizon = horizon
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.refit_every = refit_every
        self.max_history = max_history
        self.random_state = random_state

    models_: list[HistGradientBoostingRegressor]
    history_y_: FloatArray
    history_X_: FloatArray
    offset_: int

    # configuration -------------------------------------------------------------------------------
    def _steps(self) -> int:
        """How many models: 1 for recursive, ``horizon`` for direct."""
        if self.strategy not in ("recursive", "direct"):
            raise InvalidInput(
                [Problem("/strategy", f"{self.name}: strategy is 'recursive' or 'direct', got {self.strategy!r}")]
            )
        return 1 if self.strategy == "recursive" else check_positive_int(self, self.horizon, "horizon")

    def _period(self) -> int:
        return 0 if self.period is None else check_positive_int(self, self.period, "period")

    def _first_target(self, lead: int) -> int:
        """The earliest position whose features for ``lead`` steps ahead lie inside the history."""
        n_lags = check_positive_int(self, self.lags, "lags")
        m = self._period()
        seasonal = m * math.ceil(lead / m) if m else 0
        return max(n_lags + lead - 1, seasonal)

    def _min_history(self) -> int:
        need = self._first_target(self._steps()) + _MIN_ROWS
        if self.max_history is not None and check_positive_int(self, self.max_history, "max_history") < need:
            raise InvalidInput([Problem("/max_history", f"{self.name}: max_history must be at least {need}")])
        return need

    # features ------------------------------------------------------------------------------------
    def _design(self, y: FloatArray, X: FloatArray, targets: IntArray, lead: int) -> FloatArray:
        """Feature rows for the local ``targets`` forecast ``lead`` steps after their origin ``target - lead + 1``.

        Only ``y`` before the origin is read, so a row never sees its own target or anything after the origin.
        """
        origins = targets - lead + 1
        columns = [y[origins - lag] for lag in range(1, int(self.lags) + 1)]
        m = self._period()
        absolute = targets + self.offset_
        if m:
            columns.append(y[targets - m * math.ceil(lead / m)])
            columns.append((absolute % m).astype(np.float64))
        axis: TimeAxis | None = self.time_axis_
        if self.calendar and axis is not None:
            columns.extend(calendar_features(axis.at(absolute)).T)
        columns.extend(X[targets].T)
        return np.column_stack(columns) if columns else np.empty((targets.shape[0], 0))

    # fitting -------------------------------------------------------------------------------------
    def _fit(self, X: FloatArray, y: FloatArray) -> None:
        self.history_y_ = y.copy()
        self.history_X_ = X.copy()
        self.offset_ = 0
        self._trim()
        self._train()

    def _trim(self) -> None:
        if self.max_history is not None and self.history_y_.shape[0] > self.max_history:
            drop = self.history_y_.shape[0] - int(self.max_history)
            self.history_y_ = self.history_y_[drop:]
            self.history_X_ = self.history_X_[drop:]
            self.offset_ += drop

    def _train(self) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor  # scikit-learn loads in ~1 s: only when used

        models = []
        n = self.history_y_.shape[0]
        with threadpool_limits(limits=1 if n < _SINGLE_THREAD_ROWS else None, user_api="openmp"):
            for lead in range(1, self._steps() + 1):
                targets = np.arange(self._first_target(lead), n)
                features = self._design(self.history_y_, self.history_X_, targets, lead)
                model = HistGradientBoostingRegressor(
                    max_iter=self.max_iter,
                    learning_rate=self.learning_rate,
                    max_leaf_nodes=self.max_leaf_nodes,
                    min_samples_leaf=self.min_samples_leaf,
                    random_state=self.random_state,
                )
                models.append(model.fit(features, self.history_y_[targets]))
        self.models_ = models
        self._stale = 0

    def _update(self, x: FloatArray, y: float) -> None:
        self.history_y_ = np.append(self.history_y_, y)
        self.history_X_ = np.vstack([self.history_X_, x.reshape(1, -1)])
        self._trim()
        self._stale = getattr(self, "_stale", 0) + 1

    # forecasting ---------------------------------------------------------------------------------
    def _forecast(self, X: FloatArray) -> FloatArray:
        if getattr(self, "_stale", 0) >= check_positive_int(self, self.refit_every, "refit_every"):
            self._train()
        h = X.shape[0]
        n = self.history_y_.shape[0]
        y = np.concatenate([self.history_y_, np.zeros(h)])
        inputs = np.vstack([self.history_X_, X])
        block = len(self.models_)
        with threadpool_limits(limits=1, user_api="openmp"):  # one row at a time: threads only cost
            for step in range(h):
                lead = step % block + 1  # direct beyond its horizon: the next block starts from its forecasts
                target = np.array([n + step])
                y[n + step] = float(self.models_[lead - 1].predict(self._design(y, inputs, target, lead))[0])
        result: FloatArray = y[n:]
        return result

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError(f"{self.name} has no intervals of its own; wrap it in ConformalForecaster")
