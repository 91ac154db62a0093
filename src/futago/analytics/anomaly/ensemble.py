"""An ensemble of detectors that agree on a common scale: each member's score over its own learned threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.anomaly.base import as_row
from futago.analytics.anomaly.ewma import EWMAChart
from futago.analytics.anomaly.pca import PCADetector
from futago.analytics.anomaly.robust import RobustZScore
from futago.analytics.protocol import Detector, FloatArray, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

Combine = Literal["mean", "median"]


def default_members() -> list[Detector]:
    """Three views that fail differently: a multivariate distance, a recursive chart, a robust per-column test."""
    return [PCADetector(), EWMAChart(), RobustZScore(quantile=0.99, margin=1.5, smoothing=10)]


class EnsembleDetector(Detector):
    """Mean (or median) of the members' normalised scores ``score / threshold_``; alarm above 1.

    A normalised score of 1 is a member exactly at its own limit, learned from the training rows, so the
    ensemble's ``threshold_`` is 1: "on average the members are beyond their limits". With ``"median"`` that is
    a majority vote. Averaging damps the false alarms one member raises on its own (a chart on a wandering
    sensor, a distance on a broken correlation) while a real fault moves them all.

    ``members``: unfitted detectors (default: ``default_members()``); ``fit`` fits clones, leaving them as
    given. Streaming: ``learn_one`` and ``score_one`` pass the row to every member; scoring moves every member's
    stream on, as for any windowed detector.
    """

    name: ClassVar[str] = "ensemble"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**Detector.tags, "streaming": True}

    def __init__(self, members: Sequence[Detector] | None = None, combine: Combine = "mean") -> None:
        self.members = members
        self.combine = combine

    def _new_members(self) -> list[Detector]:
        if self.combine not in ("mean", "median"):
            raise InvalidInput([Problem("/combine", f"{self.name}: combine must be 'mean' or 'median'")])
        members = default_members() if self.members is None else [m.clone() for m in self.members]
        if not members:
            raise InvalidInput([Problem("/members", f"{self.name}: needs at least one member")])
        return members

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        members = self._new_members()
        for member in members:
            member.fit(data)
        self.members_ = members
        self.n_features_ = data.shape[1]
        self.threshold_ = 1.0
        return self

    def _combine(self, normalised: FloatArray) -> FloatArray:
        combined: FloatArray = (
            np.median(normalised, axis=0) if self.combine == "median" else np.mean(normalised, axis=0)
        )
        return combined

    @staticmethod
    def _limit(member: Detector) -> float:
        return max(float(member.threshold_), 1e-12)

    def score(self, X: ArrayLike) -> FloatArray:
        """Combined normalised scores; every member's stream moves on past ``X`` (see ``anomaly.base``)."""
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        normalised = np.array([m.score(data) / self._limit(m) for m in self.members_]).reshape(-1, len(data))
        return self._combine(normalised)

    def score_one(self, x: ArrayLike) -> float:
        self._require_fitted()
        return float(self.score(check_X(self, as_row(x), n_features=self.n_features_))[0])

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        row = check_X(self, as_row(x))[0]
        members = getattr(self, "members_", None) or getattr(self, "_learning", None) or self._new_members()
        for member in members:
            member.learn_one(row)
        # Until every member has seen enough rows, keep them aside so the ensemble does not look fitted.
        self._learning = members
        if all(m.is_fitted for m in members):
            self.members_ = members
            self.n_features_ = len(row)
            self.threshold_ = 1.0
        return self
