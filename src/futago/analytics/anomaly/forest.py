"""Isolation Forest (scikit-learn) on conditioned, standardised rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import IsolationForest

from futago.analytics.anomaly.base import NoiseFloor, _WindowDetector, location_scale
from futago.analytics.protocol import FloatArray


class IsolationForestDetector(_WindowDetector):
    """Random trees isolate rare rows in few splits; score = scikit-learn's anomaly score (higher = rarer).

    No distribution is assumed, which suits multi-modal normal operation. Its weakness for monitoring: every row
    outside the training ranges is isolated at about the same depth, so the score saturates and a gross fault
    scores hardly higher than a slight one; a margin above the training quantile quickly buys nothing but misses.
    Hence ``margin=1``: ``threshold_`` is the ``quantile`` of the training scores.

    ``learn_one`` is not offered (regrowing a forest per row is not an online update); ``score_one`` and
    ``predict_one`` follow the stream as for every windowed detector.
    """

    name: ClassVar[str] = "iforest"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**_WindowDetector.tags, "streaming": False}

    def __init__(
        self,
        n_estimators: int = 200,
        random_state: int | None = 0,
        quantile: float = 0.99,
        margin: float = 1.0,
        smoothing: int = 10,
        rate_columns: tuple[int, ...] = (),
        rate_lag: int = 30,
        window: int = 2000,
        noise_floor: NoiseFloor = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.quantile = quantile
        self.margin = margin
        self.smoothing = smoothing
        self.rate_columns = rate_columns
        self.rate_lag = rate_lag
        self.window = window
        self.noise_floor = noise_floor

    def _learn(self, features: FloatArray) -> None:
        self.center_, self.scale_ = location_scale(features)
        self.forest_: Any = IsolationForest(n_estimators=int(self.n_estimators), random_state=self.random_state)
        self.forest_.fit((features - self.center_) / self.scale_)

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        scores: FloatArray = -np.asarray(self.forest_.score_samples((features - self.center_) / self.scale_))
        return scores, state
