"""Sliding-window minimum and maximum in O(n), for the flat-line test.

ioos_qc builds every window as a strided view and reduces it, which costs O(n × window); a
flat-line threshold of an hour on 1 Hz data makes that 3,600 operations per reading. The van
Herk/Gil-Werman scheme gets every window's extreme from one prefix and one suffix scan per
block of ``window`` readings, all of it numpy ufunc accumulations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _sliding(values: FloatArray, window: int, ufunc: Any, pad: float) -> FloatArray:
    n = len(values)
    blocks = -(-n // window)
    padded = np.full(blocks * window, pad, dtype=np.float64)
    padded[:n] = values
    grid = padded.reshape(blocks, window)
    prefix = ufunc.accumulate(grid, axis=1).ravel()
    suffix = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    result: FloatArray = ufunc(suffix[: n - window + 1], prefix[window - 1 : n])
    return result


def sliding_min(values: FloatArray, window: int) -> FloatArray:
    """``out[j] = min(values[j : j + window])`` for every full window (``len - window + 1`` of them).

    ``values`` must hold no NaN (callers put +inf where a reading is to be ignored).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if window == 1 or len(values) < window:
        return np.array(values[: max(len(values) - window + 1, 0)], dtype=np.float64)
    return _sliding(values, window, np.minimum, np.inf)


def sliding_max(values: FloatArray, window: int) -> FloatArray:
    """``out[j] = max(values[j : j + window])``; ``values`` must hold no NaN (use -inf to ignore)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    if window == 1 or len(values) < window:
        return np.array(values[: max(len(values) - window + 1, 0)], dtype=np.float64)
    return _sliding(values, window, np.maximum, -np.inf)
