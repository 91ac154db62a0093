"""Signal conditioning: turn raw sensor rows into the features a detector monitors.

Two transforms, both causal (a feature at row ``t`` uses rows ``<= t`` only), so the batch and the streaming
view of a detector see exactly the same numbers:

* **rate of change** for columns that drift: slow integrating states (temperatures of a water circuit, a tank
  level) wander far beyond the spread seen in a short training window, so their *level* carries no evidence
  of a fault, while their *rate* ``x[t] - x[t - rate_lag]`` does (a sudden heating or cooling);
* **a rolling mean over ``smoothing`` rows**: quantised or noisy sensors (a flow meter dithering between two
  counts) only reveal a small level change once a few samples are averaged, and faults that matter last
  far longer than the window.

A feature needs ``warmup(...)`` earlier rows; rows without that much history come back as NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from futago.analytics.protocol import FloatArray


def warmup(smoothing: int, rate_columns: Sequence[int], rate_lag: int) -> int:
    """How many earlier rows a feature needs before it is defined."""
    return (smoothing - 1) + (rate_lag if len(rate_columns) else 0)


def condition(rows: FloatArray, smoothing: int, rate_columns: Sequence[int], rate_lag: int) -> FloatArray:
    """Features for every row of ``rows`` (same shape); the first ``warmup`` rows are NaN."""
    values = np.array(rows, dtype=np.float64, copy=True)
    if len(rate_columns):
        columns = list(rate_columns)
        lagged = np.full((len(rows), len(columns)), np.nan)
        if len(rows) > rate_lag:
            lagged[rate_lag:] = rows[: len(rows) - rate_lag][:, columns]
        values[:, columns] = rows[:, columns] - lagged
    if smoothing <= 1:
        return values
    out = np.full_like(values, np.nan)
    if len(values) >= smoothing:
        # Each window is summed in the same order whatever the context, so a row scored alone (streaming)
        # gets bit-for-bit the value it gets inside a batch.
        out[smoothing - 1 :] = sliding_window_view(values, smoothing, axis=0).mean(axis=-1)
    return out
