"""Robust z-score: distance from the training median in units of the median absolute deviation (MAD)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import Detector, FloatArray, check_X

# MAD × 1.4826 estimates the standard deviation of normal data, so scores read as z-scores.
_MAD_TO_SIGMA = 1.4826


class RobustZScore(Detector):
    """Score = the largest robust z-score over the columns. Threshold: a quantile of training scores × margin.

    Streaming: ``learn_one`` keeps the last ``window`` rows and refits the median and MAD on them, so the
    baseline follows slow drift the way a rolling control chart does.
    """

    name: ClassVar[str] = "robust_z"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**Detector.tags, "streaming": True}

    def __init__(self, quantile: float = 0.995, margin: float = 1.2, window: int = 2000) -> None:
        self.quantile = quantile
        self.margin = margin
        self.window = window

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        self._fit_stats(data)
        self._buffer = [row for row in data[-self.window :]]
        return self

    def _fit_stats(self, data: FloatArray) -> None:
        self.median_ = np.median(data, axis=0)
        mad = np.median(np.abs(data - self.median_), axis=0) * _MAD_TO_SIGMA
        self.scale_ = np.where(mad > 1e-12, mad, max(float(np.std(data)), 1e-12))
        self.n_features_ = data.shape[1]
        train_scores = self.score(data)
        self.threshold_ = float(np.quantile(train_scores, self.quantile)) * self.margin

    def score(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        result: FloatArray = np.max(np.abs(data - self.median_) / self.scale_, axis=1)
        return result

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        row = check_X(self, np.asarray(x, dtype=np.float64).reshape(1, -1))[0]
        buffer = getattr(self, "_buffer", [])
        buffer.append(row)
        self._buffer = buffer[-self.window :]
        self._fit_stats(np.vstack(self._buffer))
        return self
