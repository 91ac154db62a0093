"""Robust z-score: distance from the training median in units of the median absolute deviation (MAD)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from futago.analytics.anomaly.base import NoiseFloor, _WindowDetector
from futago.analytics.protocol import FloatArray

# MAD × 1.4826 estimates the standard deviation of normal data, so scores read as z-scores.
_MAD_TO_SIGMA = 1.4826


class RobustZScore(_WindowDetector):
    """Score = the largest robust z-score over the columns. Threshold: a quantile of training scores × margin.

    Median and MAD shrug off the odd spike in the training rows that a mean and standard deviation would
    absorb. ``smoothing``, ``rate_columns`` and ``rate_lag`` condition the rows first (see ``conditioning``);
    by default the raw rows are scored.

    Streaming: ``learn_one`` keeps the last ``window`` rows and refits the median and MAD on them, so the
    baseline follows slow drift the way a rolling control chart does.
    """

    name: ClassVar[str] = "robust_z"
    version: ClassVar[str] = "2"

    def __init__(
        self,
        quantile: float = 0.995,
        margin: float = 1.2,
        window: int = 2000,
        smoothing: int = 1,
        rate_columns: tuple[int, ...] = (),
        rate_lag: int = 30,
        noise_floor: NoiseFloor = None,
    ) -> None:
        self.quantile = quantile
        self.margin = margin
        self.window = window
        self.smoothing = smoothing
        self.rate_columns = rate_columns
        self.rate_lag = rate_lag
        self.noise_floor = noise_floor

    def _learn(self, features: FloatArray) -> None:
        self.median_ = np.median(features, axis=0)
        mad = np.median(np.abs(features - self.median_), axis=0) * _MAD_TO_SIGMA
        # A column that is constant more than half the time (a quantised sensor) has MAD 0: fall back to its
        # standard deviation, then to 1, rather than calling every change an infinitely large anomaly.
        std = features.std(axis=0)
        self.scale_ = np.where(mad > 1e-12, mad, np.where(std > 1e-12, std, 1.0))

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        scores: FloatArray = np.max(np.abs(features - self.median_) / self.scale_, axis=1)
        return scores, state
