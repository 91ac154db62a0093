"""Remaining-useful-life regressors: per-cycle feature rows in, cycles left out.

Both clip their training targets to ``cap`` (the piecewise-linear RUL target: a healthy asset's remaining life
cannot be read from its sensors, so every early cycle is labelled ``cap``) and their answers to ``[0, cap]``.
Feed them rows from :class:`futago.analytics.rul.features.DegradationFeatures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.ensemble import HistGradientBoostingRegressor

from futago.analytics.protocol import FloatArray, Model, check_X, check_y

# Heimes (2008) and most C-MAPSS work since: the knee of the piecewise-linear target, in cycles.
DEFAULT_CAP = 125.0


class GradientBoostingRUL(Model):
    """Histogram gradient boosting (scikit-learn) on degradation features: futago's default RUL model.

    Defaults were chosen by 5-fold cross-validation over the C-MAPSS FD001 training engines grouped by unit,
    never on the test engines: a slow learning rate with a fixed number of rounds (no early stopping, whose
    random hold-out would make the number of rounds depend on the data order), small trees, and leaves of at
    least 50 cycles so a leaf never describes a single engine's noise. No online form: refit with ``fit``.
    """

    name: ClassVar[str] = "rul_gbm"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        cap: float = DEFAULT_CAP,
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 50,
        l2_regularization: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.cap = cap
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        target = np.clip(check_y(self, y, data.shape[0]), 0.0, self.cap)
        self.booster_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(data, target)
        self.n_features_ = data.shape[1]
        return self

    def predict(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        result: FloatArray = np.clip(self.booster_.predict(data), 0.0, self.cap)
        return result


class RidgeRUL(Model):
    """Linear RUL model, ridge-regularised, with an exact online form: recursive least squares.

    ``fit`` solves ``(AᵀA + αI) w = Aᵀy`` with ``A = [X, 1]``; ``learn_one`` applies the Sherman–Morrison update to
    the same system, starting from ``w = 0`` and ``(αI)⁻¹``, so a model fed row by row reaches the batch solution
    (up to rounding). It is much weaker than gradient boosting on C-MAPSS (wear is not linear in the features) but
    learns from live run-to-failure data without keeping it.
    """

    name: ClassVar[str] = "rul_ridge"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**Model.tags, "streaming": True}

    def __init__(self, cap: float = DEFAULT_CAP, alpha: float = 1.0) -> None:
        self.cap = cap
        self.alpha = alpha

    @staticmethod
    def _design(data: FloatArray) -> FloatArray:
        return np.hstack([data, np.ones((data.shape[0], 1))])

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        target = np.clip(check_y(self, y, data.shape[0]), 0.0, self.cap)
        design = self._design(data)
        gram = design.T @ design + self.alpha * np.eye(design.shape[1])
        self.inverse_ = np.linalg.inv(gram)
        self.coef_ = np.linalg.solve(gram, design.T @ target)
        self.n_features_ = data.shape[1]
        return self

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        row = check_X(
            self, np.asarray(x, dtype=np.float64).reshape(1, -1), n_features=getattr(self, "n_features_", None)
        )
        target = float(np.clip(check_y(self, y, 1)[0], 0.0, self.cap))
        a = self._design(row)[0]
        if not self.is_fitted:
            self.inverse_ = np.eye(a.shape[0]) / self.alpha
            self.coef_ = np.zeros(a.shape[0])
            self.n_features_ = row.shape[1]
        p_a = self.inverse_ @ a
        gain = p_a / (1.0 + a @ p_a)
        self.coef_ = self.coef_ + gain * (target - a @ self.coef_)
        self.inverse_ = self.inverse_ - np.outer(gain, p_a)
        return self

    def predict(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        result: FloatArray = np.clip(self._design(data) @ self.coef_, 0.0, self.cap)
        return result
