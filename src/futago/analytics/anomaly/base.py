"""What futago's detectors share: conditioned features, a threshold learned from training rows, a live stream.

A detector here watches a *stream*: the rows it scores are taken to follow the rows it has seen before (in
``fit``, ``learn_one`` or earlier scoring), so a rolling mean or a control chart carries on across the boundary
between training and monitoring, and between one batch of live rows and the next, instead of restarting cold.
Every scoring call moves the stream on: ``score(X)`` in chunks, ``score_one(x)`` row by row, and both give
exactly the same numbers as one ``score`` over all the rows. (To look ahead without moving the stream, score a
``copy.deepcopy`` of the detector.) Detectors without a memory (no smoothing, no rates, no chart) answer the
same whatever came before.

``threshold_`` is ``quantile`` of the training scores times ``margin``: learned from training rows only,
with a margin because a high quantile estimated from a few hundred autocorrelated rows is itself uncertain.
Scores are distances (never squared), so ``score / threshold_`` reads as "how many times the limit".

**Noise floor.** A sensor cannot be quieter than its resolution: a training window in which a column barely
moves (a settled controller output, a stuck-but-valid reading) would otherwise teach a scale of 1e-9 and make
the first real change score a billion. Every column therefore has a noise floor, in its own units: the
detector's ``noise_floor`` parameter when given (the sensor's declared resolution or noise, one value or one per
column), else the larger of the readings' quantisation step / √12 (the noise of a uniform quantiser) and
``RELATIVE_FLOOR`` × |median| (0.1 % of reading, the accuracy class of a good industrial instrument). The
training rows are learned as the sensor resolves them: before conditioning, each column gets Gaussian noise of
its floor's size added (a fixed seed, so fitting stays deterministic). Scales, limits and thresholds are
then learned as usual; a column far noisier than its floor is practically unchanged
(√(σ² + f²) ≈ σ), a near-constant one is learned with scale f, so no window can make scores explode. Only
training is dithered; scoring reads the rows as they are.

**Wander.** A training window of a few hundred rows sees only part of the slow wander of a real process (a rig
warming up for hours, a vibration level creeping with it), so limits learned from it are too tight on the hours
that follow. Each column's wander is measured in the window itself (``wander_band``): the variance of its
``WANDER_BLOCK``-row block means beyond what the column's short-memory noise gives them. Extrapolated as a
random walk, the level's variance grows with time: about 20 times that measured excess (``WANDER_REACH``)
three window lengths on, as far as the valve files of SKAB are watched. When scoring, each column's deviation
from its training level is scaled by spread / √(spread² + band²) (spread: the column's sample-to-sample
deviation, band: √(reach × excess)), so a drift of the size the window predicts reads as ordinary noise while a
column without wander (band 0) is scored exactly as before. Thresholds stay those of the training rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.anomaly.conditioning import condition, warmup
from futago.analytics.protocol import Detector, FloatArray, Model, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

#: Fewer training rows than this (after the warm-up) cannot give a threshold worth the name.
MIN_TRAIN_ROWS = 20
#: Scales below this are treated as a constant column (avoids dividing by zero on a stuck sensor).
_TINY = 1e-12
#: Default noise floor relative to a column's typical level (see the module docstring).
RELATIVE_FLOOR = 1e-3
#: Seed of the training dither: the same rows always give the same model.
_DITHER_SEED = 20240518
#: Block length (rows) over which the training window's slow wander is measured: longer than the features'
#: own memory (a 10-row mean, a 30-row rate) so that block means of a stationary column are nearly independent,
#: short enough to leave about nine blocks in a 400-row window.
WANDER_BLOCK = 40
#: How many times the window's wander variance the level may move while the model is in use (see the module
#: docstring): a random walk watched for three times the window's length.
WANDER_REACH = 20.0
#: What ``noise_floor`` may be: None (estimated), one floor for every column, or one per column.
NoiseFloor = float | tuple[float, ...] | None


def estimated_floor(data: FloatArray) -> FloatArray:
    """Per-column noise floor from the readings alone: quantisation step / √12 or 0.1 % of |median|."""
    floors = np.zeros(data.shape[1])
    for j, column in enumerate(data.T):
        gaps = np.diff(np.unique(column))
        step = float(gaps.min()) if len(gaps) else 0.0
        floors[j] = max(step / np.sqrt(12.0), RELATIVE_FLOOR * abs(float(np.median(column))))
    return floors


def noise_floor(data: FloatArray, declared: NoiseFloor) -> FloatArray:
    """The floor each column is learned with: ``declared`` (one value or one per column) or the estimate."""
    if declared is None:
        return estimated_floor(data)
    return np.broadcast_to(np.asarray(declared, dtype=np.float64), (data.shape[1],)).copy()


def dither(data: FloatArray, floors: FloatArray) -> FloatArray:
    """``data`` plus Gaussian noise of ``floors`` per column, from a fixed seed (deterministic)."""
    rng = np.random.default_rng(_DITHER_SEED)
    return data + rng.standard_normal(data.shape) * floors


def wander_band(features: FloatArray, block: int, reach: float) -> FloatArray:
    """Per-column half-width of the band a level may wander in while the model is in use (module docstring).

    ``features`` are unsmoothed conditioned training rows, cut into blocks of ``block`` rows. The block means
    spread by the noise alone as the noise's long-run variance / ``block`` (short-term autocorrelation, a
    dithering meter, counts as noise, not wander); the excess over that is the slow wander, and ``reach``
    times its variance is how far the level is expected to move."""
    n_blocks = len(features) // block
    if n_blocks < 3 or reach <= 0.0:
        return np.zeros(features.shape[1])
    blocks = features[len(features) - n_blocks * block :].reshape(n_blocks, block, -1)
    centred = blocks - blocks.mean(axis=1, keepdims=True)
    noise = _short_run_variance(centred) / block
    # The unbiased excess: on a stationary column it is zero on average, but nine block means estimate it
    # roughly, so such a column may lose up to a third of its sensitivity in an unlucky window.
    excess = np.maximum(blocks.mean(axis=1).var(axis=0, ddof=1) - noise, 0.0)
    band: FloatArray = np.sqrt(reach * excess)
    return band


def _short_run_variance(centred: FloatArray) -> FloatArray:
    """Long-run variance per column of block-centred rows (blocks × rows × columns), Bartlett weights over
    lags up to a quarter of a block: the variance a block mean would have without any slow wander."""
    lags = max(1, centred.shape[1] // 4)
    variance = np.mean(centred**2, axis=(0, 1))
    for lag in range(1, lags + 1):
        products = np.mean(centred[:, lag:] * centred[:, :-lag], axis=(0, 1))
        variance = variance + 2.0 * (1.0 - lag / (lags + 1)) * products
    result: FloatArray = np.maximum(variance, 0.0)
    return result


def _floor_ok(value: Any, n_columns: int) -> bool:
    if value is None:
        return True
    if isinstance(value, tuple | list):
        return len(value) == n_columns and all(is_real(v) and v >= 0.0 for v in value)
    return is_real(value) and value >= 0.0


def location_scale(features: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Column means and standard deviations, a constant column getting scale 1 so it cannot dominate."""
    center = features.mean(axis=0)
    scale = features.std(axis=0)
    return center, np.where(scale > _TINY, scale, 1.0)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """A finite real number (bools excluded): what numeric parameters are checked for before comparing."""
    return (
        isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool) and np.isfinite(value)
    )


class _WindowDetector(Detector):
    """Base of the windowed detectors (a leading ``_``: abstract, so it needs no protocol case).

    Subclasses list the shared parameters in their own ``__init__`` (``smoothing``, ``rate_columns``,
    ``rate_lag``, ``quantile``, ``margin``, ``window``) and implement:

    * ``_learn(features)``: learn from the conditioned training rows;
    * ``_initial_state()`` and ``_score_features(features, state) -> (scores, state)``: score conditioned rows
      from a recursive state (an EWMA, a CUSUM sum), empty for memoryless scores;
    * ``_burn_in()``: how many leading training scores to leave out of the threshold (a chart's start-up).
    """

    tags: ClassVar[Mapping[str, bool]] = {**Detector.tags, "streaming": True}

    smoothing: int
    noise_floor: NoiseFloor
    rate_columns: tuple[int, ...]
    rate_lag: int
    quantile: float
    margin: float
    window: int

    # to implement -------------------------------------------------------------------------------
    def _learn(self, features: FloatArray) -> None:
        raise NotImplementedError

    def _score_features(self, features: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError

    def _initial_state(self) -> FloatArray:
        return np.empty(0)

    def _burn_in(self) -> int:
        return 0

    # the shared parts ---------------------------------------------------------------------------
    @property
    def _warmup(self) -> int:
        return warmup(int(self.smoothing), tuple(self.rate_columns), int(self.rate_lag))

    def _check_params(self, n_columns: int) -> None:
        problems: list[Problem] = []
        if not _is_int(self.smoothing) or self.smoothing < 1:
            problems.append(Problem("/smoothing", f"{self.name}: smoothing must be a whole number of rows >= 1"))
        if not _is_int(self.rate_lag) or self.rate_lag < 1:
            problems.append(Problem("/rate_lag", f"{self.name}: rate_lag must be a whole number of rows >= 1"))
        columns = self.rate_columns
        if not (isinstance(columns, tuple | list) and all(_is_int(c) and 0 <= c < n_columns for c in columns)):
            problems.append(
                Problem("/rate_columns", f"{self.name}: rate_columns must be column indices below {n_columns}")
            )
        if not (is_real(self.quantile) and 0.0 < self.quantile <= 1.0):
            problems.append(Problem("/quantile", f"{self.name}: quantile must lie in (0, 1]"))
        if not (is_real(self.margin) and self.margin > 0.0):
            problems.append(Problem("/margin", f"{self.name}: margin must be positive"))
        if not _is_int(self.window) or self.window < 1:
            problems.append(Problem("/window", f"{self.name}: window must be a whole number of rows >= 1"))
        if not _floor_ok(self.noise_floor, n_columns):
            problems.append(
                Problem(
                    "/noise_floor",
                    f"{self.name}: noise_floor must be a number >= 0 or one per column ({n_columns}), in their units",
                )
            )
        if problems:
            raise InvalidInput(problems)

    def _min_rows(self) -> int:
        return self._warmup + self._burn_in() + MIN_TRAIN_ROWS

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X)
        self._fit_rows(data)
        self._buffer = list(data[-int(self.window) :].copy())
        return self

    def _fit_rows(self, data: FloatArray) -> None:
        self._check_params(data.shape[1])
        if len(data) < self._min_rows():
            raise InvalidInput(
                [
                    Problem(
                        "/X",
                        f"{self.name}: needs at least {self._min_rows()} training rows "
                        f"({self._warmup} to fill its windows), got {len(data)}",
                    )
                ]
            )
        self.noise_floor_ = noise_floor(data, self.noise_floor)
        learned = dither(data, self.noise_floor_)
        features = condition(learned, int(self.smoothing), tuple(self.rate_columns), int(self.rate_lag))
        features = features[self._warmup :]
        # The wander is measured on unsmoothed features, whose spread is the sample-to-sample one.
        raw = condition(learned, 1, tuple(self.rate_columns), int(self.rate_lag))[self._warmup :]
        self.level_ = np.median(features, axis=0)
        self.spread_ = np.maximum(raw.std(axis=0), _TINY)
        self.band_ = wander_band(raw, WANDER_BLOCK, WANDER_REACH)
        self._learn(features)
        scores, state = self._score_features(features, self._initial_state())
        self.n_features_ = data.shape[1]
        self.threshold_ = float(np.quantile(scores[self._burn_in() :], float(self.quantile))) * float(self.margin)
        self.state_ = state
        # The stream so far: the raw rows the next row's features will reach back to.
        self.history_ = data[len(data) - self._warmup :].copy()

    def _banded(self, features: FloatArray) -> FloatArray:
        """Deviations from the training level scaled down where the window showed slow wander (module docstring)."""
        band = getattr(self, "band_", None)
        if band is None or not np.any(band > 0.0):
            return features
        shrink = self.spread_ / np.sqrt(self.spread_**2 + band**2)
        banded: FloatArray = self.level_ + (features - self.level_) * shrink
        return banded

    def _advance(self, data: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Scores of ``data`` as the continuation of the stream, and the stream's history and state after it
        (returned, not stored, so that a failure half-way leaves the stream as it was)."""
        if not len(data):
            return np.empty(0), self.history_, self.state_
        rows = np.vstack([self.history_, data])
        start = len(self.history_)
        features = condition(rows, int(self.smoothing), tuple(self.rate_columns), int(self.rate_lag))[start:]
        features = self._banded(features)
        scores, state = self._score_features(features, self.state_)
        return scores, rows[len(rows) - self._warmup :].copy(), state

    def score(self, X: ArrayLike) -> FloatArray:
        """Scores of the rows of ``X`` as the next rows of the stream, which moves on past them."""
        self._require_fitted()
        data = check_X(self, X, n_features=self.n_features_)
        scores, self.history_, self.state_ = self._advance(data)
        return scores

    def score_one(self, x: ArrayLike) -> float:
        """``score`` of one row (what live monitoring calls per sample)."""
        self._require_fitted()
        return float(self.score(check_X(self, as_row(x), n_features=self.n_features_))[0])

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        """Add one normal row and refit on the last ``window`` rows: exact, and cheap for these small models.

        The rows given to ``learn_one`` are taken as one contiguous stream of normal operation; until there
        are enough of them to fill the windows and learn a threshold, the model stays unfitted.
        """
        if not self.tags.get("streaming", False):
            return Model.learn_one(self, x, y)
        buffer: list[FloatArray] = getattr(self, "_buffer", [])
        row = check_X(self, as_row(x), n_features=len(buffer[0]) if buffer else None)[0]
        self._check_params(len(row))
        buffer.append(row)
        self._buffer = buffer[-int(self.window) :]
        if len(self._buffer) >= self._min_rows():
            self._fit_rows(np.vstack(self._buffer))
        return self


def as_row(x: ArrayLike) -> Any:
    """One row as a 1×n array, left unconverted so ``check_X`` reports bad values with its own message."""
    return np.reshape(np.asarray(x, dtype=object), (1, -1))
