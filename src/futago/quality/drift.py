"""Sensor drift: CUSUM and Page-Hinkley over the residual against a reference.

A drifting sensor still passes every QARTOD test (its values stay in range, smooth, alive),
so drift is found by comparing it with something that should agree: a redundant co-located
sensor, or a behaviour's prediction. The detectors watch the residual ``value − reference``
and raise a `DriftAlarm` with an estimated start, so that the readings since then can be
flagged or recalibrated, not only the ones after the alarm.

Both detectors are streaming and batch at once (as River's are): `update` takes one
residual, `detect` a batch, and feeding a series in any chunks gives the same alarms. After an
alarm a detector restarts, so a drift that persists against a fixed ``target`` alarms again
(the caller folds repeats into one open event); with a learned baseline it settles at the
new level. NaN residuals (no reference at that time) are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord, json_meta
from futago.core.telemetry import format_timestamp, parse_timestamp

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class DriftAlarm(JsonRecord):
    """A suspected drift: detected at one reading, believed to have started at an earlier one.

    ``magnitude`` is the estimated mean shift of the residual (in the telemetry's units,
    always ≥ 0) from the baseline over the readings since the estimated start; ``direction``
    says whether the sensor reads high (``up``) or low (``down``) against its reference.
    """

    detected_at_us: int = field(metadata=json_meta("detectedAt", encode=format_timestamp, decode=parse_timestamp))
    estimated_start_us: int = field(
        metadata=json_meta("estimatedStart", encode=format_timestamp, decode=parse_timestamp)
    )
    magnitude: float
    direction: Direction


@dataclass(slots=True)
class _Side:
    """One direction's running statistic, and where its current excursion began."""

    stat: float = 0.0
    start_us: int | None = None  # None: the excursion starts at the next reading
    count: int = 0  # readings since start_us

    def advance(self, ts: int, at_rest: bool) -> None:
        if at_rest:
            self.start_us, self.count = None, 0
        else:
            if self.start_us is None:
                self.start_us = ts
            self.count += 1


class _DriftDetector:
    """What CUSUM and Page-Hinkley share: parameters, ordering of time, alarms, restarts.

    ``method`` is the detector's name in a drift watch's settings (``method = "cusum"``). It is not a model name:
    the anomaly detector ``analytics.anomaly.CUSUMChart`` is the model named "cusum" that behaviours use."""

    method: ClassVar[str] = ""

    def __init__(self, delta: float, threshold: float, min_samples: int, target: float | None) -> None:
        problems = []
        if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 <= delta < math.inf:
            problems.append(Problem("/delta", f"delta (the allowed slack) must be a finite number ≥ 0, got {delta!r}"))
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < math.inf:
            problems.append(Problem("/threshold", f"threshold must be a finite number > 0, got {threshold!r}"))
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            problems.append(Problem("/min_samples", f"min_samples must be an integer ≥ 1, got {min_samples!r}"))
        if target is not None and (
            isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target)
        ):
            problems.append(Problem("/target", f"target must be a finite number or null, got {target!r}"))
        if problems:
            raise InvalidInput(problems)
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.min_samples = min_samples
        self.target = None if target is None else float(target)
        self._last_ts: int | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything since the last restart (the time order is kept)."""
        self._n = 0
        self._up = _Side()
        self._down = _Side()
        self._restart()

    def _restart(self) -> None:
        """Detector-specific state; called by `reset` and after each alarm."""

    def _step(self, ts: int, x: float) -> None:
        raise NotImplementedError

    def update(self, ts: int, residual: float) -> DriftAlarm | None:
        """Take one residual; returns an alarm when this reading crosses the threshold."""
        ts = int(ts)
        if self._last_ts is not None and ts <= self._last_ts:
            raise InvalidInput([Problem("/ts", f"timestamps must increase: {ts} after {self._last_ts}")])
        self._last_ts = ts
        x = float(residual)
        if math.isnan(x):
            return None
        self._n += 1
        self._step(ts, x)
        if self._n < self.min_samples:
            return None
        side, direction = (self._up, "up") if self._up.stat >= self._down.stat else (self._down, "down")
        if not side.stat > self.threshold:
            return None
        start = ts if side.start_us is None else side.start_us
        magnitude = self.delta + side.stat / max(side.count, 1)
        alarm = DriftAlarm(ts, start, magnitude, "up" if direction == "up" else "down")
        self.reset()
        return alarm

    def detect(self, ts: npt.ArrayLike, residuals: npt.ArrayLike) -> list[DriftAlarm]:
        """Feed a batch, continuing from the current state; the alarms it raised, in time order."""
        t = np.asarray(ts, dtype=np.int64).ravel()
        r = np.asarray(residuals, dtype=np.float64).ravel()
        if t.shape != r.shape:
            raise InvalidInput(
                [Problem("/residuals", f"ts and residuals differ in length: {t.shape[0]} and {r.shape[0]}")]
            )
        if t.size > 1 and not bool(np.all(np.diff(t) > 0)):
            bad = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
            raise InvalidInput([Problem(f"/ts/{bad}", "timestamps must increase")])
        alarms = []
        for when, value in zip(t.tolist(), r.tolist(), strict=True):
            alarm = self.update(when, value)
            if alarm is not None:
                alarms.append(alarm)
        return alarms


class Cusum(_DriftDetector):
    """Two-sided tabular CUSUM (Page 1954; Montgomery's form) on the residual.

    ``S⁺ = max(0, S⁺ + (x − μ₀) − δ)`` and ``S⁻ = max(0, S⁻ − (x − μ₀) − δ)``; an alarm when
    either exceeds ``threshold`` (h). δ is usually half the shift worth detecting and h four
    to ten standard deviations of the residual. The estimated start is the reading after the
    statistic last stood at zero, and the magnitude Montgomery's ``δ + S/N``.

    ``target`` (μ₀) is the residual when all is well: 0 for two identical sensors. None
    learns it as the mean of the first ``min_samples`` residuals after each (re)start, for
    sensors with a known constant offset; no alarm can come during that warm-up.
    """

    method = "cusum"

    def __init__(self, delta: float, threshold: float, min_samples: int = 1, target: float | None = 0.0) -> None:
        super().__init__(delta, threshold, min_samples, target)

    def _restart(self) -> None:
        self._sum = 0.0

    def _step(self, ts: int, x: float) -> None:
        if self.target is None and self._n <= self.min_samples:
            self._sum += x  # warm-up: learn the baseline, watch nothing yet
            return
        mu = self.target if self.target is not None else self._sum / self.min_samples
        e = x - mu
        self._up.stat = max(0.0, self._up.stat + e - self.delta)
        self._down.stat = max(0.0, self._down.stat - e - self.delta)
        self._up.advance(ts, self._up.stat == 0.0)
        self._down.advance(ts, self._down.stat == 0.0)


class PageHinkley(_DriftDetector):
    """The two-sided Page-Hinkley test on the residual.

    ``m = Σ (x − x̄ − δ)`` against its running minimum M (and the mirror for a fall); an
    alarm when ``m − M`` exceeds ``threshold`` (λ). The estimated start is the reading after
    the minimum was last reached, the magnitude ``δ + (m − M)/N``.

    ``target`` None is the classic test: x̄ is the running mean of the residuals since the
    (re)start, so a constant offset between sensors is absorbed. A number fixes x̄. No alarm
    comes before ``min_samples`` residuals, while the mean settles.
    """

    method = "page_hinkley"

    def __init__(self, delta: float, threshold: float, min_samples: int = 30, target: float | None = None) -> None:
        super().__init__(delta, threshold, min_samples, target)

    def _restart(self) -> None:
        self._mean = 0.0
        self._m_up = self._min_up = 0.0
        self._m_down = self._max_down = 0.0

    def _step(self, ts: int, x: float) -> None:
        if self.target is None:
            self._mean += (x - self._mean) / self._n
        mu = self._mean if self.target is None else self.target
        self._m_up += x - mu - self.delta
        self._m_down += x - mu + self.delta
        at_min = self._m_up <= self._min_up
        if at_min:
            self._min_up = self._m_up
        at_max = self._m_down >= self._max_down
        if at_max:
            self._max_down = self._m_down
        self._up.stat = self._m_up - self._min_up
        self._down.stat = self._max_down - self._m_down
        self._up.advance(ts, at_min)
        self._down.advance(ts, at_max)


DriftDetector = Cusum | PageHinkley


def residuals_against(
    ts: npt.ArrayLike,
    values: npt.ArrayLike,
    ref_ts: npt.ArrayLike,
    ref_values: npt.ArrayLike,
    max_gap_us: int | None = None,
) -> npt.NDArray[np.float64]:
    """``value − reference`` at each of the sensor's timestamps, the reference linearly interpolated.

    Co-located sensors rarely sample at the same instants, so the reference is interpolated
    between its two neighbouring readings; NaN where it is unknown: outside its time range,
    across a reference gap longer than ``max_gap_us``, or next to a NaN reference reading.
    """
    t = np.asarray(ts, dtype=np.int64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    rt = np.asarray(ref_ts, dtype=np.int64).ravel()
    rv = np.asarray(ref_values, dtype=np.float64).ravel()
    out = np.full(t.shape, np.nan)
    if rt.size == 0 or t.size == 0:
        return out
    right = np.clip(np.searchsorted(rt, t, side="left"), 0, rt.size - 1)
    exact = rt[right] == t
    left = np.where(exact, right, right - 1)
    inside = exact | ((left >= 0) & (rt[right] > t) & (t > rt[np.maximum(left, 0)]))
    left = np.maximum(left, 0)
    span = rt[right] - rt[left]
    if max_gap_us is not None:
        inside &= span <= max_gap_us
    with np.errstate(all="ignore"):
        frac = np.where(span > 0, (t - rt[left]) / np.where(span > 0, span, 1), 0.0)
        ref = rv[left] + (rv[right] - rv[left]) * frac
        ref = np.where(exact, rv[right], ref)
        out[inside] = v[inside] - ref[inside]
    return out


#: The drift detectors by the ``method`` a drift watch names.
DRIFT_METHODS: dict[str, type[Cusum] | type[PageHinkley]] = {kind.method: kind for kind in (Cusum, PageHinkley)}
