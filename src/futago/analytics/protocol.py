"""One small protocol for every model futago ships: physics, ML, hybrid, detectors, forecasters.

In the style of scikit-learn and River:

* parameters are keyword arguments of ``__init__``, stored unchanged under the same names, and ``__init__``
  does no work and no validation (so ``clone`` and ``get_params`` are trivial and safe);
* ``fit(X, y=None)`` validates, learns, and returns ``self``; learned state ends in ``_`` (``mean_``);
* ``predict(X)`` returns one value per row of ``X`` (a 1-D float array);
* the streaming view of the same object: ``learn_one(x, y=None)`` updates from one row and
  ``predict_one(x)`` answers for one row, so a model can follow live telemetry without refitting.

``X`` is always a 2-D float array, one row per time step or sample and one column per input.
Models that take no inputs (a forecaster without exogenous variables) accept ``X`` with zero columns:
``predict(np.empty((h, 0)))`` is an ``h``-step forecast.

Each model declares ``kind`` and ``tags`` that the shared check suite (``tests/analytics/checks.py``) reads
to decide which invariants apply, as scikit-learn's ``check_estimator`` reads estimator tags.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem

Kind = Literal["detector", "forecaster", "regressor", "simulator"]
FloatArray = NDArray[np.float64]


class NotFittedError(FutagoError):
    """``predict`` was called before ``fit`` (or ``learn_one``) gave the model anything to go on."""

    status = 409
    title = "Model not fitted"


class Model:
    """Base class: parameter handling, input checks and the default streaming view.

    Subclasses set ``name``, ``version`` and ``kind`` and implement ``fit`` and ``predict``.
    They override ``learn_one``/``predict_one`` when they have a true online form; the defaults
    below are the honest fallbacks (``predict_one`` = ``predict`` on one row; ``learn_one`` refuses).
    """

    name: ClassVar[str] = "model"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "regressor"
    #: ``requires_fit``: predict needs fit first. ``streaming``: learn_one is a true online update.
    #: ``allow_nan``: NaN inputs are meaningful (gaps) rather than an error. ``deterministic``: the same
    #: params (incl. ``random_state``) and data give the same output. ``needs_y``: fit needs a target.
    tags: ClassVar[Mapping[str, bool]] = {
        "requires_fit": True,
        "streaming": False,
        "allow_nan": False,
        "deterministic": True,
        "needs_y": True,
    }

    # parameters -------------------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        known = set(self.param_names())
        unknown = sorted(set(params) - known)
        if unknown:
            raise InvalidInput(
                [Problem(f"/{name}", f"{type(self).__name__} has no parameter '{name}'") for name in unknown]
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted model with the same parameters."""
        return type(self)(**copy.deepcopy(self.get_params()))

    @property
    def is_fitted(self) -> bool:
        return any(name.endswith("_") and not name.startswith("_") for name in vars(self))

    def _require_fitted(self) -> None:
        if self.tags.get("requires_fit", True) and not self.is_fitted:
            raise NotFittedError(f"{self.name}: call fit (or learn_one) before predict")

    # the two views ----------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        raise NotImplementedError

    def predict(self, X: ArrayLike) -> FloatArray:
        raise NotImplementedError

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        raise NotImplementedError(f"{self.name} has no online update; refit it with fit()")

    def predict_one(self, x: ArrayLike) -> float:
        return float(self.predict(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])

    def describe(self) -> dict[str, Any]:
        """Name, version, kind and parameters: what provenance records about a run."""
        params = {k: v for k, v in self.get_params().items() if _jsonable(v)}
        return {"name": self.name, "version": self.version, "kind": self.kind, "params": params}


class Detector(Model):
    """Anomaly detectors: ``score(X)`` gives a score per row (higher = more anomalous) and ``predict`` the 0/1
    decision against ``threshold_``, which ``fit`` learns from training data only."""

    kind: ClassVar[Kind] = "detector"
    tags: ClassVar[Mapping[str, bool]] = {**Model.tags, "needs_y": False}

    def score(self, X: ArrayLike) -> FloatArray:
        raise NotImplementedError

    def predict(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        return (self.score(X) > self.threshold_).astype(np.float64)

    def score_one(self, x: ArrayLike) -> float:
        return float(self.score(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])

    def predict_one(self, x: ArrayLike) -> float:
        self._require_fitted()
        return float(self.score_one(x) > self.threshold_)

    threshold_: float


class Forecaster(Model):
    """Forecasters: ``fit(X, y)`` with ``y`` the history (one value per row of ``X``, which holds exogenous
    inputs or has no columns) and ``predict(X_future)`` one value per future step. ``predict_interval`` gives
    lower and upper bounds at coverage ``1 - alpha`` when the model can (conformal calibration by default)."""

    kind: ClassVar[Kind] = "forecaster"

    def predict_interval(self, X: ArrayLike, alpha: float = 0.1) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError(f"{self.name} gives no intervals")


def check_X(model: Model, X: ArrayLike, *, n_features: int | None = None, allow_nan: bool | None = None) -> FloatArray:
    """Validate and convert ``X`` to a 2-D float array, with a problem that says what is wrong."""
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem("/X", f"{model.name}: inputs must be numbers ({exc})")]) from exc
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InvalidInput([Problem("/X", f"{model.name}: inputs must be 2-D (rows × columns), got {array.ndim}-D")])
    if n_features is not None and array.shape[1] != n_features:
        raise InvalidInput(
            [Problem("/X", f"{model.name}: expected {n_features} input columns, got {array.shape[1]} (as in fit)")]
        )
    nan_ok = model.tags.get("allow_nan", False) if allow_nan is None else allow_nan
    if not nan_ok and not np.isfinite(array).all():
        raise InvalidInput([Problem("/X", f"{model.name}: inputs contain NaN or infinity; fill or drop them first")])
    return array


def check_y(model: Model, y: ArrayLike | None, n_rows: int) -> FloatArray:
    if y is None:
        raise InvalidInput([Problem("/y", f"{model.name}: fit needs a target y")])
    try:
        array = np.asarray(y, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem("/y", f"{model.name}: targets must be numbers ({exc})")]) from exc
    if array.shape[0] != n_rows:
        raise InvalidInput([Problem("/y", f"{model.name}: y has {array.shape[0]} values for {n_rows} rows of X")])
    if not np.isfinite(array).all():
        raise InvalidInput([Problem("/y", f"{model.name}: targets contain NaN or infinity")])
    return array


def _jsonable(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list | tuple):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False
