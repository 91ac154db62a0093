"""Streaming anomaly likelihood: Numenta's post-processing over "surprise" events of simple residuals.

Numenta's NAB detector turns an HTM model's raw anomaly score (the fraction of the input it did not predict) into
an *anomaly likelihood*: the moving average of the raw score over the last 10 rows is compared with a Gaussian
fitted to its own recent history, and the tail probability of that average says how unusual the present is
(Ahmad et al. 2017, "Unsupervised real-time anomaly detection for streaming data"). The raw score only has to be
mostly 0 on familiar behaviour and jump towards 1 when the input was not expected; the likelihood then reacts to a
change in the *rate* of surprises, not to single blips.

Here the raw score is a surprise event, 1 when a residual is more than ``surprise`` times its running mean absolute
size, else 0, taken on two views of the series:

* the **step** residual ``x_t - x_{t-1}``: sudden jumps, spikes and bursts of volatility;
* the **seasonal** residual ``x_t - median(x_{t-P}, x_{t-2P}, …)`` over the last ``seasons_back`` periods of
  ``season`` rows (a week, say), when given: behaviour unusual *for this time of the week*. The median over several
  periods keeps one unusual week from becoming the reference for the next.

Each view has its own likelihood; the score is the larger. Two rules from the NAB entries complete it:

* **range** (Numenta's "spatial anomaly"): a value beyond the range seen so far by more than ``range_tolerance`` of
  that range scores 1;
* **refractory period** (CAD-OSE's "rest period", ``warmup / 5`` rows by default): after an alert, further alerts
  are held below the threshold for that long, so one incident raises one alarm, not a string of them.

Scores are on Numenta's log scale, ``log(tail) / log(1e-10)`` clipped to ``[0, 1]``: 0.5 means a tail probability
of ``1e-5``, Numenta's "red" level, and that is the default decision threshold: fixed in advance by the probability
model, not tuned on labelled data. Everything is causal: the score of a row uses that row and the rows before it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import ClassVar, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import Detector, FloatArray, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

# Numenta's constants (nupic ``anomaly_likelihood``): floors on the fitted mean and variance of the averaged raw
# score keep a near-silent history from making the first tiny blip look astronomically unlikely.
_MEAN_FLOOR = 0.03
_VARIANCE_FLOOR = 0.0003
# Red and yellow tail probabilities: a second consecutive "red" row is reported as yellow (only the onset counts).
_RED_TAIL = 1e-5
_YELLOW_TAIL = 1e-3
# log(1e-10): the log scale maps a tail probability of 1e-10 or less to 1.0.
_LOG_FLOOR = math.log(1e-10)
# A residual view raises no surprise until its scale has seen this many residuals.
_MIN_RESIDUALS = 50


def log_score(tail: float) -> float:
    """Numenta's log-likelihood score of a tail probability: 0 for 1, 0.5 for 1e-5, 1 for 1e-10 and below."""
    return min(1.0, max(0.0, math.log(tail + 1e-10) / _LOG_FLOOR))


def _gaussian_tail(x: float, mean: float, std: float) -> float:
    """Two-sided tail: how far ``x`` lies from ``mean`` on either side (Numenta folds values below the mean)."""
    z = abs(x - mean) / std
    return 0.5 * math.erfc(z / math.sqrt(2.0))


class _Likelihood:
    """Numenta's anomaly likelihood of a stream of raw scores in [0, 1] (one row at a time).

    ``tail(raw)`` is the (filtered) tail probability of the moving average that ``raw`` would make, without
    changing anything; ``update(raw, tail)`` then commits the row. The Gaussian is re-fitted every ``reestimate``
    rows on the moving averages of the last ``history`` raw scores, skipping the first ``learning`` rows of the
    stream (the model behind the raw score is still learning there).
    """

    def __init__(self, warmup: int, averaging: int, history: int, reestimate: int) -> None:
        self.warmup = warmup
        self.learning = warmup // 2
        self.reestimate = reestimate
        self.history: deque[float] = deque(maxlen=history)
        self.recent: deque[float] = deque(maxlen=averaging)
        self.seen = 0
        self.mean = _MEAN_FLOOR
        self.std = math.sqrt(_VARIANCE_FLOOR)
        self.previous_tail = 1.0

    def tail(self, raw: float) -> tuple[float, float]:
        """``(filtered, unfiltered)`` tail probability of this row; 0.5 during the warm-up."""
        if self.seen < self.warmup:
            return 0.5, 0.5
        window = list(self.recent)[1:] if len(self.recent) == self.recent.maxlen else list(self.recent)
        average = (sum(window) + raw) / (len(window) + 1)
        tail = _gaussian_tail(average, self.mean, self.std)
        # Numenta's filter: staying in the red zone is reported as yellow, so a long anomaly alerts once.
        filtered = _YELLOW_TAIL if tail <= _RED_TAIL and self.previous_tail <= _RED_TAIL else tail
        return filtered, tail

    def update(self, raw: float, tail: float) -> None:
        self.recent.append(raw)
        self.history.append(raw)
        self.seen += 1
        if self.seen > self.warmup:
            self.previous_tail = tail
        if self.seen >= self.warmup and (self.seen == self.warmup or self.seen % self.reestimate == 0):
            self._estimate()

    def _estimate(self) -> None:
        """Fit the Gaussian to the moving averages of the stored raw scores (after the learning rows)."""
        scores = np.fromiter(self.history, dtype=np.float64)
        shifted_out = max(0, self.seen - len(scores))
        skip = min(len(scores), max(0, self.learning - shifted_out))
        width = self.recent.maxlen or 1
        sums = np.concatenate(([0.0], np.cumsum(scores)))
        end = np.arange(1, len(scores) + 1)
        start = np.maximum(0, end - width)
        averages = ((sums[end] - sums[start]) / (end - start))[skip:]
        if len(averages) == 0:
            return
        self.mean = max(float(np.mean(averages)), _MEAN_FLOOR)
        self.std = math.sqrt(max(float(np.var(averages)), _VARIANCE_FLOOR))


class _SurpriseView:
    """One residual view: its running scale (mean absolute residual) and the likelihood of its surprise events."""

    def __init__(self, surprise: float, span: int, likelihood: _Likelihood) -> None:
        self.surprise = surprise
        self.span = span
        self.scale = 0.0
        self.count = 0
        self.likelihood = likelihood

    def raw(self, residual: float | None) -> float:
        """1 when the residual is a surprise for the scale learned so far, else 0 (no residual: 0)."""
        if residual is None or self.count < _MIN_RESIDUALS:
            return 0.0
        return 1.0 if abs(residual) > self.surprise * max(self.scale, 1e-12) else 0.0

    def update(self, residual: float | None) -> None:
        if residual is None:
            return
        # A plain mean at first, then an exponential one over ``span`` rows, so the scale follows slow drift.
        weight = max(1.0 / self.span, 1.0 / (self.count + 1))
        self.scale += weight * (abs(residual) - self.scale)
        self.count += 1


class _Step(NamedTuple):
    """What one row would do to the state: computed without side effects, then committed by ``learn_one``."""

    value: float
    residuals: tuple[float | None, ...]
    raws: tuple[float, ...]
    tails: tuple[float, ...]
    score: float
    alert: bool


class AnomalyLikelihood(Detector):
    """Streaming univariate detector: Numenta's anomaly likelihood over step and seasonal surprise events.

    Parameters: ``warmup`` rows before any alert (NAB hands its detectors the probationary length);
    ``season`` rows per seasonal period (None: no seasonal view) and ``seasons_back`` periods in its median;
    ``surprise`` the residual size, in running mean absolute residuals, that counts as a surprise, with
    ``scale_span`` rows of memory for that mean; ``averaging``, ``history`` and ``reestimate`` Numenta's likelihood
    settings; ``range_tolerance`` the margin of the new-extreme rule (None: off); ``refractory`` rows of silence
    after an alert (None: ``warmup // 5``); ``threshold`` the alert level on the score (0.5: tail 1e-5).

    ``fit`` replays ``X`` row by row (same state as ``learn_one`` on each row); ``score`` and ``score_one`` score
    each row as if it came next, without learning it; ``process_one`` scores a row and then learns it, the step a
    streaming benchmark needs. Only one column: one stream per detector.
    """

    name: ClassVar[str] = "anomaly_likelihood"
    version: ClassVar[str] = "1"
    tags: ClassVar[Mapping[str, bool]] = {**Detector.tags, "streaming": True}

    def __init__(
        self,
        warmup: int = 750,
        season: int | None = None,
        seasons_back: int = 3,
        surprise: float = 5.0,
        scale_span: int = 500,
        averaging: int = 10,
        history: int = 8640,
        reestimate: int = 100,
        range_tolerance: float | None = 0.02,
        refractory: int | None = None,
        threshold: float = 0.5,
    ) -> None:
        self.warmup = warmup
        self.season = season
        self.seasons_back = seasons_back
        self.surprise = surprise
        self.scale_span = scale_span
        self.averaging = averaging
        self.history = history
        self.reestimate = reestimate
        self.range_tolerance = range_tolerance
        self.refractory = refractory
        self.threshold = threshold

    # the protocol ------------------------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = self._check(X, fitting=True)
        self._reset()
        for value in data[:, 0]:
            self._commit(self._step(float(value)))
        return self

    def score(self, X: ArrayLike) -> FloatArray:
        self._require_fitted()
        data = self._check(X)
        return np.array([self._step(float(value)).score for value in data[:, 0]], dtype=np.float64)

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        self.process_one(x)
        return self

    def process_one(self, x: ArrayLike) -> float:
        """Score the next row of the stream, then learn it; returns the score (prequential evaluation)."""
        row = [np.ravel(x)]  # one row; check_X turns anything unreadable into InvalidInput
        if not self.is_fitted:
            self._check(row, fitting=True)
            self._reset()
        step = self._step(float(self._check(row)[0, 0]))
        self._commit(step)
        return step.score

    # state -------------------------------------------------------------------------------------------------
    def _check(self, X: ArrayLike, fitting: bool = False) -> FloatArray:
        data = check_X(self, X, n_features=None if fitting else self.n_features_)
        if data.shape[1] != 1:
            raise InvalidInput([Problem("/X", f"{self.name}: one column expected (one stream), got {data.shape[1]}")])
        return data

    def _reset(self) -> None:
        self.n_features_ = 1
        self.threshold_ = float(self.threshold)
        self.n_seen_ = 0
        # Enough past values for the step residual and every seasonal lag.
        depth = 1 + (self.season * self.seasons_back if self.season else 0)
        self._past: deque[float] = deque(maxlen=depth)
        self._views = [self._view() for _ in range(2 if self.season else 1)]
        self._low = math.inf
        self._high = -math.inf
        self._last_alert = -(10**12)

    def _view(self) -> _SurpriseView:
        return _SurpriseView(
            self.surprise, self.scale_span, _Likelihood(self.warmup, self.averaging, self.history, self.reestimate)
        )

    def _residuals(self, value: float) -> tuple[float | None, ...]:
        past = self._past
        step = value - past[-1] if past else None
        if not self.season:
            return (step,)
        lags = [self.season * k for k in range(1, self.seasons_back + 1)]
        seasonal = value - float(np.median([past[-lag] for lag in lags])) if len(past) >= lags[-1] else None
        return step, seasonal

    def _step(self, value: float) -> _Step:
        residuals = self._residuals(value)
        raws = tuple(view.raw(r) for view, r in zip(self._views, residuals, strict=True))
        pairs = [view.likelihood.tail(raw) for view, raw in zip(self._views, raws, strict=True)]
        score = log_score(min(filtered for filtered, _ in pairs))
        if self.n_seen_ >= self.warmup and self._outside_range(value):
            score = 1.0
        quiet = self.refractory if self.refractory is not None else self.warmup // 5
        if score >= self.threshold_ and self.n_seen_ - self._last_alert <= quiet:
            score = min(score, log_score(_YELLOW_TAIL))  # still raised, but below the alert level
        alert = score >= self.threshold_
        return _Step(value, residuals, raws, tuple(tail for _, tail in pairs), score, alert)

    def _outside_range(self, value: float) -> bool:
        """Numenta's spatial anomaly: beyond the range seen so far by more than the tolerance (of that range)."""
        if self.range_tolerance is None or not self._high > self._low:
            return False
        margin = (self._high - self._low) * self.range_tolerance
        return value > self._high + margin or value < self._low - margin

    def _commit(self, step: _Step) -> None:
        for view, residual, raw, tail in zip(self._views, step.residuals, step.raws, step.tails, strict=True):
            view.update(residual)
            view.likelihood.update(raw, tail)
        if step.alert:
            self._last_alert = self.n_seen_
        self._past.append(step.value)
        self._low = min(self._low, step.value)
        self._high = max(self._high, step.value)
        self.n_seen_ += 1
