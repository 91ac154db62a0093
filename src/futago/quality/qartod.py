"""The QARTOD value tests over a whole series at once, vectorised with numpy.

Each function takes float values (NaN or ±inf where a reading has no usable value) and, where
time matters, timestamps as integer microseconds since the epoch (futago's convention),
strictly increasing. Each returns one uint8 QARTOD flag per reading.

The semantics are those of ``ioos_qc.qartod`` 3.0, flag for flag, including its corners:

- a non-finite value is MISSING, except that the gross range and rate of change tests compare
  the raw value after marking it, so ``±inf`` ends up FAIL there (NaN compares false and stays
  MISSING);
- spike thresholds of 0 (or None) switch that level off, and the first and last readings are
  NOT_EVALUATED, as is a reading whose neighbour is not finite or whose neighbours' sum is
  too large for numpy's masked division (about 9e307);
- rate of change divides by whole seconds (time differences are truncated, as ioos_qc's cast
  to ``timedelta64[s]`` does); where that division is impossible (less than a second apart) or
  not finite, the raw difference is compared instead, as numpy's masked division leaves it;
- flat line turns its thresholds into a count of readings through the series' median spacing
  in whole seconds, and looks back over ``count + 1`` readings ignoring non-finite ones; series
  shorter than 3 readings pass.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from futago.quality.flags import FlagArray, QartodFlag
from futago.quality.windows import sliding_max, sliding_min

FloatArray = npt.NDArray[np.float64]
TsArray = npt.NDArray[np.int64]
SpikeMethod = Literal["average", "differential"]

_US_PER_S = 1_000_000
_TINY = float(np.finfo(np.float64).tiny)


def _as_values(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).ravel()


def _as_ts(ts: npt.ArrayLike) -> TsArray:
    return np.asarray(ts, dtype=np.int64).ravel()


def _sorted_span(span: tuple[float, float] | list[float]) -> tuple[float, float]:
    if len(span) != 2:
        raise ValueError(f"a span has two ends, got {span!r}")
    low, high = sorted(float(v) for v in span)
    return low, high


def gross_range_test(
    values: npt.ArrayLike,
    fail_span: tuple[float, float] | list[float],
    suspect_span: tuple[float, float] | list[float] | None = None,
) -> FlagArray:
    """Outside the sensor span FAIL, outside the user span SUSPECT (QARTOD gross range test)."""
    x = _as_values(values)
    fail_lo, fail_hi = _sorted_span(fail_span)
    flags = np.ones(len(x), dtype=np.uint8)
    flags[~np.isfinite(x)] = QartodFlag.MISSING
    with np.errstate(invalid="ignore"):
        if suspect_span is not None:
            lo, hi = _sorted_span(suspect_span)
            if lo < fail_lo or hi > fail_hi:
                raise ValueError(f"suspect span {(lo, hi)} must fall within the fail span {(fail_lo, fail_hi)}")
            flags[(x < lo) | (x > hi)] = QartodFlag.SUSPECT
        flags[(x < fail_lo) | (x > fail_hi)] = QartodFlag.FAIL
    return flags


def spike_test(
    values: npt.ArrayLike,
    suspect_threshold: float | None = None,
    fail_threshold: float | None = None,
    method: SpikeMethod = "average",
) -> FlagArray:
    """How far each reading stands from its two neighbours (QARTOD spike test).

    ``average``: distance from the mean of the neighbours. ``differential``: the smaller of the
    two steps in and out, counted only when they go in opposite directions.
    """
    x = _as_values(values)
    n = len(x)
    flags = np.ones(n, dtype=np.uint8)
    if n == 0:
        return flags
    finite = np.isfinite(x)
    distance = np.zeros(n, dtype=np.float64)
    evaluable = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        if method == "average":
            pair = x[:-2] + x[2:]
            ref = pair / 2
            distance[1:-1] = np.abs(x[1:-1] - ref)
            # numpy's masked division also gives up on |pair| * tiny >= 2, and ioos_qc with it.
            evaluable[1:-1] = np.isfinite(ref) & (np.abs(pair) * _TINY < 2)
        elif method == "differential":
            step = x[1:] - x[:-1]
            smaller = np.minimum(np.abs(step[:-1]), np.abs(step[1:]))
            smaller[step[:-1] * step[1:] >= 0] = 0
            distance[1:-1] = smaller
            evaluable[1:-1] = np.isfinite(smaller) & finite[:-2] & finite[2:]
        else:
            raise ValueError(f'unknown spike method "{method}"; use "average" or "differential"')
        if suspect_threshold:
            flags[distance > suspect_threshold] = QartodFlag.SUSPECT
        if fail_threshold:
            flags[distance > fail_threshold] = QartodFlag.FAIL
    flags[~evaluable] = QartodFlag.NOT_EVALUATED
    flags[~finite] = QartodFlag.MISSING
    return flags


def rate_of_change_test(
    values: npt.ArrayLike,
    ts: npt.ArrayLike,
    threshold: float,
    fail_threshold: float | None = None,
) -> FlagArray:
    """Change per second since the previous reading: over ``threshold`` SUSPECT, over ``fail_threshold`` FAIL.

    Threshold in the telemetry's units per second; a sudden step is a sensor or transmission fault.
    """
    x = _as_values(values)
    t = _as_ts(ts)
    if len(t) != len(x):
        raise ValueError(f"{len(x)} values but {len(t)} timestamps")
    rate = np.zeros(len(x), dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        change = x[1:] - x[:-1]
        seconds = (np.diff(t) // _US_PER_S).astype(np.float64)
        per_second = change / seconds
        # Where numpy's masked division gives up (a result that is not finite, or a divisor too
        # small for the change: |change| * tiny >= |seconds|), ioos_qc keeps the undivided change.
        undivided = ~np.isfinite(per_second) | (np.abs(change) * _TINY >= np.abs(seconds))
        rate[1:] = np.abs(np.where(undivided, change, per_second))
        flags = np.ones(len(x), dtype=np.uint8)
        flags[rate > threshold] = QartodFlag.SUSPECT
        if fail_threshold is not None:
            flags[rate > fail_threshold] = QartodFlag.FAIL
    flags[~np.isfinite(x)] = QartodFlag.MISSING
    return flags


def median_interval_s(ts: npt.ArrayLike) -> float:
    """The spacing the flat-line test counts readings by: the median step, in whole seconds.

    ioos_qc truncates to whole seconds and then fails outright on sub-second data (it divides by
    zero); futago keeps ioos_qc's figure whenever it is at least a second and uses the exact
    median otherwise, so fast sensors get a flat-line test too.
    """
    t = _as_ts(ts)
    if len(t) < 2:
        raise ValueError("a spacing needs at least two timestamps")
    steps = np.diff(t)
    k = len(steps)
    part = np.partition(steps, [(k - 1) // 2, k // 2])
    twice_median = int(part[(k - 1) // 2]) + int(part[k // 2])
    whole = twice_median // (2 * _US_PER_S)
    return float(whole) if whole > 0 else twice_median / (2 * _US_PER_S)


def effective_interval_s(interval_s: float) -> float:
    """An expected spacing in seconds as the flat-line test counts it (see `median_interval_s`)."""
    whole = math.floor(interval_s)
    return float(whole) if whole > 0 else float(interval_s)


def flat_line_count(threshold_s: float, interval_s: float) -> int:
    """How many earlier readings a flat-line threshold spans: ``int(threshold) / interval``, truncated."""
    count = int(int(threshold_s) / interval_s)
    if count < 0:
        raise ValueError("flat-line thresholds must not be negative")
    return count


def _flat_mask(x: FloatArray, finite: npt.NDArray[np.bool_], count: int, tolerance: float) -> npt.NDArray[np.bool_]:
    """Readings whose last ``count + 1`` finite values span less than ``tolerance``."""
    n = len(x)
    hit = np.zeros(n, dtype=bool)
    if count >= n:
        return hit
    window = count + 1
    lows = sliding_min(np.where(finite, x, np.inf), window)
    highs = sliding_max(np.where(finite, x, -np.inf), window)
    seen = np.concatenate(([0], np.cumsum(finite, dtype=np.int64)))
    any_finite = (seen[window:] - seen[: n - count]) > 0
    with np.errstate(invalid="ignore", over="ignore"):
        hit[count:] = any_finite & (np.abs(highs - lows) < tolerance)
    return hit


def flat_line_test(
    values: npt.ArrayLike,
    ts: npt.ArrayLike,
    suspect_threshold: float,
    fail_threshold: float,
    tolerance: float = 0,
    interval_s: float | None = None,
) -> FlagArray:
    """A stuck sensor: readings that stay within ``tolerance`` for the threshold's duration.

    ``interval_s`` overrides the median spacing (the streaming path knows only the expected one).
    """
    x = _as_values(values)
    t = _as_ts(ts)
    if len(t) != len(x):
        raise ValueError(f"{len(x)} values but {len(t)} timestamps")
    flags = np.ones(len(x), dtype=np.uint8)
    if len(x) < 3:
        return flags
    spacing = median_interval_s(t) if interval_s is None else effective_interval_s(interval_s)
    finite = np.isfinite(x)
    for threshold, flag in ((suspect_threshold, QartodFlag.SUSPECT), (fail_threshold, QartodFlag.FAIL)):
        flags[_flat_mask(x, finite, flat_line_count(threshold, spacing), tolerance)] = flag
    flags[~finite] = QartodFlag.MISSING
    return flags
