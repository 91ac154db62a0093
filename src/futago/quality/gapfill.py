"""Gap filling for analytics: a regular series with the holes filled and marked as such.

Forecasters and many metrics want one value per interval; sensors drop readings. Filling is
for analysis only: the result is a new array with a mask saying which values were made up,
and the raw readings come through bit for bit, so nothing filled can be mistaken for, or
written over, a measurement.

Definitions:

- A **gap** lies between two consecutive *valid* readings ``a < b`` (finite values; NaN and
  ±inf count as missing) more than half an interval further apart than one ``interval_us``.
- The **grid** inside a gap continues the cadence of the reading before it: ``a + k·interval``
  for ``k = 1, 2, ...`` while at least half an interval short of ``b``. A regular series with
  dropped readings thus gets exactly its missing slots back; a jittery one never gets a made-up
  point squeezed next to a real one.
- The **gap length** is ``b − a``. A gap longer than ``max_gap_us`` is not filled: its grid
  points are still emitted, as NaN and not marked interpolated, so the output stays regular
  and the outage stays visible.
- Raw readings that are missing (NaN/inf) keep their timestamps and are filled like grid
  points when their gap is; a grid point that falls on such a reading is not repeated.
- Only gaps with a valid reading on both sides are filled: before the first and after the
  last valid reading nothing is invented (a trailing gap may be an outage still going on).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

FillMethod = Literal["linear", "ffill"]
MAX_POINTS = 10_000_000  # a year of one-second readings is 31.5 million: refuse, ask for a coarser grid


def fill_gaps(
    ts: npt.ArrayLike,
    values: npt.ArrayLike,
    interval_us: int,
    method: FillMethod = "linear",
    max_gap_us: int | None = None,
    max_points: int = MAX_POINTS,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """``(ts, values, interpolated)`` with the gaps of a sorted series filled on its cadence.

    ``ts`` must strictly increase (as `SeriesData` does). ``linear`` draws a straight line
    between the valid readings around a gap; ``ffill`` holds the one before it. See the
    module docstring for what counts as a gap. Raises InvalidInput for bad arguments, or when
    the result would exceed ``max_points`` readings.
    """
    t = np.asarray(ts, dtype=np.int64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    _check(t, v, interval_us, method, max_gap_us)
    valid = np.isfinite(v)
    vt, vv = t[valid], v[valid]

    # Grid points per gap between consecutive valid readings: k·I ≤ d − I/2, in integers.
    span = np.diff(vt)
    counts = np.maximum((span - (interval_us + 1) // 2) // interval_us, 0)
    total = int(counts.sum()) if counts.size else 0
    if total + t.size > max_points:
        raise InvalidInput(
            [
                Problem(
                    "/interval",
                    f"filling would make {total + t.size} readings (limit {max_points}); "
                    "use a longer interval or a shorter time range",
                )
            ]
        )
    gap_of_point = np.repeat(np.arange(counts.size), counts)
    first_of_gap = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - first_of_gap[gap_of_point] + 1
    grid_ts = vt[gap_of_point] + k * interval_us if total else np.zeros(0, dtype=np.int64)

    # Missing raw readings strictly between two valid ones belong to that pair's gap.
    missing_ts = t[~valid]
    pair = np.searchsorted(vt, missing_ts, side="right") - 1
    bounded = (pair >= 0) & (pair < counts.size)
    grid_ts = grid_ts[~np.isin(grid_ts, missing_ts)]
    gap_of_grid = np.searchsorted(vt, grid_ts, side="right") - 1

    fillable = span <= max_gap_us if max_gap_us is not None else np.ones(span.shape, dtype=np.bool_)
    out_ts = np.concatenate([t, grid_ts])
    out_v = np.concatenate([v, np.full(grid_ts.shape, np.nan)])
    filled = np.zeros(out_ts.shape, dtype=np.bool_)

    missing_at = np.flatnonzero(~valid)
    targets = np.concatenate([missing_at[bounded], t.size + np.arange(grid_ts.size)])
    pairs = np.concatenate([pair[bounded], gap_of_grid])
    keep = fillable[pairs] if pairs.size else np.zeros(0, dtype=np.bool_)
    targets, pairs = targets[keep], pairs[keep]
    out_v[targets] = _fill_values(out_ts[targets], vt, vv, pairs, method)
    filled[targets] = True

    order = np.argsort(out_ts, kind="stable")
    return out_ts[order], out_v[order], filled[order]


def _fill_values(
    at: npt.NDArray[np.int64],
    vt: npt.NDArray[np.int64],
    vv: npt.NDArray[np.float64],
    pairs: npt.NDArray[np.intp],
    method: FillMethod,
) -> npt.NDArray[np.float64]:
    left = vv[pairs]
    if method == "ffill":
        return left
    # Integer offsets first: subtracting epoch-scale floats would lose the microseconds.
    frac = (at - vt[pairs]).astype(np.float64) / (vt[pairs + 1] - vt[pairs]).astype(np.float64)
    with np.errstate(all="ignore"):
        return left + (vv[pairs + 1] - left) * frac


def _check(
    t: npt.NDArray[np.int64],
    v: npt.NDArray[np.float64],
    interval_us: int,
    method: str,
    max_gap_us: int | None,
) -> None:
    problems = []
    if t.shape != v.shape:
        problems.append(Problem("/values", f"ts and values differ in length: {t.size} and {v.size}"))
    elif t.size > 1 and not bool(np.all(np.diff(t) > 0)):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        problems.append(Problem(f"/ts/{bad}", "timestamps must strictly increase"))
    if isinstance(interval_us, bool) or not isinstance(interval_us, int | np.integer) or interval_us <= 0:
        problems.append(Problem("/interval", f"interval must be a positive number of µs, got {interval_us!r}"))
    if method not in ("linear", "ffill"):
        problems.append(Problem("/method", f"method must be 'linear' or 'ffill', got {method!r}"))
    if max_gap_us is not None and (
        isinstance(max_gap_us, bool) or not isinstance(max_gap_us, int | np.integer) or max_gap_us <= 0
    ):
        problems.append(Problem("/maxGap", f"max gap must be a positive number of µs or None, got {max_gap_us!r}"))
    if problems:
        raise InvalidInput(problems)
