"""Remaining useful life as one model: raw sensor rows in, cycles left out, for twins and behaviours.

:class:`DegradationFeatures` and the RUL regressors are separate pieces because evaluation needs them apart
(features refitted per fold, whole fleets transformed at once). A twin behaviour needs the opposite: one object
that a behaviour's ``artifact`` can point at, fed the twin's telemetry history as it is, with no ``groups`` or
feature rows to build. :class:`RULPipeline` is that object.

Input columns, in this order (the C-MAPSS file order, less the unit column)::

    [cycle]  [setting_1 … setting_n_settings]  sensor_1 … sensor_k

* ``cycle`` (only with ``cycle_column=True``): the unit's age in cycles at each row, used as the age feature instead
  of counting rows. Use it when the history a behaviour reads (its ``window``) can start after the unit's first
  cycle: counting rows would then read an old asset as a young one.
* settings (only with ``n_settings > 0``): operating-condition columns (altitude, Mach, throttle…). They are
  used for nothing but finding the operating regime when ``n_conditions > 1`` (C-MAPSS FD002/FD004); with one
  regime (FD001) they are ignored, which is why ``futago eval cmapss --save-model`` saves a sensors-only pipeline.
* sensors: every sensor column; constant ones are dropped by the features during ``fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from futago.analytics.protocol import FloatArray, Model, check_X, check_y
from futago.analytics.rul.features import DegradationFeatures
from futago.analytics.rul.regressors import DEFAULT_CAP, GradientBoostingRUL, RidgeRUL
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

IntArray = NDArray[np.int64]

#: Regressors ``regressor`` can name.
REGRESSORS: dict[str, type[GradientBoostingRUL] | type[RidgeRUL]] = {"gbm": GradientBoostingRUL, "ridge": RidgeRUL}


def runs_from_target(y: ArrayLike) -> IntArray:
    """Run labels (0, 1, 2…) for concatenated run-to-failure targets: a new run starts wherever the target rises.

    Within one run the remaining life only falls (by one per cycle), so a rise can only be the start of the next
    run. Equal consecutive targets are read as the *same* run, not a boundary: capped targets hold at the cap
    through a unit's healthy cycles, and some labellings hold at 0 after a failure threshold. The one history
    this cannot split is a run whose first target is not above the previous run's last (a truncated run followed
    by a shorter one); run-to-failure data, which ends at 0, always splits correctly unless a run is one cycle.
    """
    target = np.asarray(y, dtype=np.float64).reshape(-1)
    if target.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = (target[1:] > target[:-1]).astype(np.int64)
    return np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(starts)])


class RULPipeline(Model):
    """Degradation features and a RUL regressor, fitted together on raw run-to-failure histories.

    ``fit(X, y)``: ``X`` is one or more run-to-failure histories stacked (rows oldest first within each run),
    ``y`` their remaining life per row (capped to ``cap`` here; pass it capped or not). The runs are not given:
    they are inferred from ``y`` by :func:`runs_from_target` (a new run wherever the target rises), because the
    protocol's ``fit(X, y)`` has no room for a ``groups`` argument and run-to-failure targets carry the
    boundaries anyway.

    ``predict(X)``: ``X`` is *one* unit's consecutive history, oldest first, as a behaviour reads it from a twin.
    The answer at row ``t`` uses rows ``≤ t`` only (features are causal), so appending cycles never changes an
    earlier answer and the whole window can be written back as derived telemetry. Answers lie in ``[0, cap]``.
    Without a ``cycle`` column the age feature counts the rows of ``X``: give the unit's whole life, or add the
    cycle column (see the module docstring).

    ``predict_one(x)``: the same answer for a stream of one unit's rows, one call per new cycle. The pipeline
    keeps the last ``window`` rows (all a feature row needs) and a count of rows seen, so a freshly fitted
    pipeline fed rows ``0..t`` answers exactly ``predict(rows 0..t)[t]``. ``fit`` and :meth:`reset_stream` start
    a new stream (a replaced or overhauled unit).

    No ``learn_one``: the target of a live unit (its remaining life) is only known once it has failed, and the
    features' kept sensors and scales are fitted on the whole fleet, so there is no honest per-row update.
    Refit on the fleet's run-to-failure histories instead.

    Parameters:

    * ``window``, ``constant_share``, ``n_conditions``, ``include_age``: those of :class:`DegradationFeatures`
      (defaults chosen by cross-validation on C-MAPSS FD001).
    * ``cap``: the knee of the piecewise-linear target, in cycles; also the largest answer.
    * ``regressor``: ``"gbm"`` (:class:`GradientBoostingRUL`, the default and far the better) or ``"ridge"``
      (:class:`RidgeRUL`); ``regressor_params`` overrides its parameters (not ``cap``: set it here).
    * ``n_settings``, ``cycle_column``: the optional leading input columns (module docstring).
    * ``sensor_names``: names of the sensor columns, recorded in ``input_names_`` and the feature names so a
      behaviour author can see which telemetry goes in which column.
    * ``random_state``: for the regime clustering and the regressor, where they draw random numbers.
    """

    name: ClassVar[str] = "rul_pipeline"
    version: ClassVar[str] = "1"
    # The streaming state of ``predict_one`` (private: not parameters, not learned from data).
    _recent: FloatArray | None
    _seen: int

    def __init__(
        self,
        window: int = 70,
        cap: float = DEFAULT_CAP,
        regressor: str = "gbm",
        regressor_params: Mapping[str, Any] | None = None,
        constant_share: float = 0.95,
        n_conditions: int = 1,
        include_age: bool = True,
        n_settings: int = 0,
        cycle_column: bool = False,
        sensor_names: Sequence[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.window = window
        self.cap = cap
        self.regressor = regressor
        self.regressor_params = regressor_params
        self.constant_share = constant_share
        self.n_conditions = n_conditions
        self.include_age = include_age
        self.n_settings = n_settings
        self.cycle_column = cycle_column
        self.sensor_names = sensor_names
        self.random_state = random_state

    # fitting ------------------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        """Infer the runs from ``y``, fit the features on the sensor columns and the regressor on the features."""
        self._check_params()
        data = check_X(self, X)
        target = check_y(self, y, data.shape[0])
        if data.shape[0] == 0:
            raise InvalidInput([Problem("/X", f"{self.name}: fit needs at least one run-to-failure history")])
        n_sensors = data.shape[1] - self._n_leading
        if n_sensors < 1:
            raise InvalidInput(
                [Problem("/X", f"{self.name}: {data.shape[1]} columns leave no sensor after the leading columns")]
            )
        if self.sensor_names is not None and len(self.sensor_names) != n_sensors:
            raise InvalidInput(
                [Problem("/sensor_names", f"{len(self.sensor_names)} names for {n_sensors} sensor columns")]
            )
        runs = runs_from_target(target)
        cycles, settings, sensors = self._split(data)
        names = list(self.sensor_names) if self.sensor_names is not None else [f"x{j}" for j in range(n_sensors)]
        features = DegradationFeatures(
            window=self.window,
            constant_share=self.constant_share,
            n_conditions=self.n_conditions,
            include_age=self.include_age,
            random_state=self.random_state,
        )
        rows = features.fit_transform(sensors, runs, settings, names)
        if self.include_age and cycles is not None:
            rows[:, -1] = cycles
        regressor = self._make_regressor()
        regressor.fit(rows, np.clip(target, 0.0, self.cap))
        self.features_ = features
        self.regressor_ = regressor
        self.n_features_ = data.shape[1]
        self.n_runs_ = int(runs[-1]) + 1
        leading = (["cycle"] if self.cycle_column else []) + [f"setting{j + 1}" for j in range(self.n_settings)]
        self.input_names_ = leading + names
        self.reset_stream()
        return self

    @property
    def _n_leading(self) -> int:
        return int(bool(self.cycle_column)) + int(self.n_settings)

    def _check_params(self) -> None:
        problems = []
        if self.regressor not in REGRESSORS:
            problems.append(
                Problem("/regressor", f"choose one of {', '.join(sorted(REGRESSORS))}, not {self.regressor!r}")
            )
        if not isinstance(self.cap, int | float | np.number) or not np.isfinite(self.cap) or self.cap <= 0:
            problems.append(Problem("/cap", f"cap must be a positive number of cycles, got {self.cap!r}"))
        if not isinstance(self.n_settings, int | np.integer) or self.n_settings < 0:
            problems.append(Problem("/n_settings", f"must be a whole number ≥ 0, got {self.n_settings!r}"))
        elif self.n_conditions != 1 and self.n_settings == 0:
            problems.append(Problem("/n_settings", f"n_conditions={self.n_conditions} needs settings columns"))
        if self.regressor_params is not None and not isinstance(self.regressor_params, Mapping):
            problems.append(Problem("/regressor_params", "regressor_params maps parameter names to values"))
        elif self.regressor_params is not None and "cap" in self.regressor_params:
            problems.append(Problem("/regressor_params/cap", "set cap on the pipeline, which caps targets too"))
        if problems:
            raise InvalidInput(problems)

    def _make_regressor(self) -> Model:
        regressor = REGRESSORS[self.regressor](cap=self.cap)
        params = dict(self.regressor_params or {})
        if "random_state" in regressor.param_names():
            params.setdefault("random_state", self.random_state)
        return regressor.set_params(**params)

    # predicting ---------------------------------------------------------------------------------
    def predict(self, X: ArrayLike) -> FloatArray:
        """RUL at every row of one unit's history, each from the rows up to it."""
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        if data.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        return self._answer(data, np.arange(1, data.shape[0] + 1, dtype=np.float64))

    def predict_one(self, x: ArrayLike) -> float:
        """RUL after one more cycle of the unit being streamed: row ``x`` joins the last ``window`` rows kept."""
        self._require_fitted()
        row = check_X(self, [np.ravel(np.asarray(x))], n_features=self.n_features_)
        recent = getattr(self, "_recent", None)
        buffer = row if recent is None else np.vstack([recent, row])[-int(self.window) :]
        seen = int(getattr(self, "_seen", 0)) + 1
        ages = np.arange(seen - buffer.shape[0] + 1, seen + 1, dtype=np.float64)
        value = float(self._answer(buffer, ages, last_only=True)[0])
        self._recent, self._seen = buffer, seen
        return value

    def reset_stream(self) -> Self:
        """Forget the rows ``predict_one`` has seen: the next row is a new unit's first cycle."""
        self._recent = None
        self._seen = 0
        return self

    def _answer(self, data: FloatArray, ages: FloatArray, last_only: bool = False) -> FloatArray:
        """Regressor answers for consecutive rows of one unit (or its last row only); ``ages`` (1 = first cycle)
        stands in for the age feature when there is no cycle column, since ``data`` may be a history's tail."""
        cycles, settings, sensors = self._split(data)
        rows = self.features_.transform(sensors, None, settings)
        if self.include_age:
            rows[:, -1] = cycles if cycles is not None else ages
        if last_only:
            rows = rows[-1:]
        result: FloatArray = np.clip(self.regressor_.predict(rows), 0.0, self.cap)
        return result

    def _split(self, data: FloatArray) -> tuple[FloatArray | None, FloatArray | None, FloatArray]:
        """``(cycle column or None, settings or None, sensors)`` from input rows laid out as documented."""
        start = int(bool(self.cycle_column))
        cycles = data[:, 0] if self.cycle_column else None
        settings = data[:, start : start + self.n_settings] if self.n_settings else None
        return cycles, settings, data[:, start + self.n_settings :]
