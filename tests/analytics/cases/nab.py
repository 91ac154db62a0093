"""Protocol cases for the NAB detector (``futago.analytics.anomaly.likelihood``)."""

from __future__ import annotations

import numpy as np

from futago.analytics.anomaly.likelihood import AnomalyLikelihood
from tests.analytics.checks import Case

_rng = np.random.default_rng(11)
# A daily-like cycle of 24 rows with noise, so the seasonal view has something to learn.
_t = np.arange(400)
_X = (np.sin(2 * np.pi * _t / 24) + 0.1 * _rng.normal(size=400)).reshape(-1, 1)
_X_test = np.concatenate([_X[:30, 0], _X[30:40, 0] + 5.0]).reshape(-1, 1)


def _plain() -> AnomalyLikelihood:
    return AnomalyLikelihood(warmup=60)


def _seasonal() -> AnomalyLikelihood:
    return AnomalyLikelihood(warmup=60, season=24, seasons_back=2, history=500, reestimate=20)


CASES = [
    # fit replays the rows through learn_one, so online and batch states are identical.
    Case("anomaly_likelihood", _plain, _X, X_test=_X_test, streaming_tolerance=1e-12),
    Case("anomaly_likelihood_seasonal", _seasonal, _X, X_test=_X_test, streaming_tolerance=1e-12),
]
