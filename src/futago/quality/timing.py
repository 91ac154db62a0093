"""QARTOD timing/gap test (test 1) and time sanity: is each timestamp believable, and what never came.

A missing reading cannot be flagged when it arrives, because it never does. futago finds gaps
from a background check: given the time of the last reading, the expected interval and "now",
`missing_timestamps` lists the expected timestamps that are overdue, and the caller stores a
reading flagged MISSING (9) at each.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from futago.quality.flags import FlagArray, QartodFlag

_US_PER_S = 1_000_000


def time_sanity_test(
    ts: npt.ArrayLike,
    now_us: int,
    future_tolerance_s: float = 0,
    max_age_s: float | None = None,
) -> FlagArray:
    """FAIL for a timestamp beyond now plus a tolerance (a clock running ahead), or older than ``max_age_s``.

    With no tolerance this is ioos_qc's ``impossible_date_test`` against an explicit now, and
    the age rule is its ``data_reception_test`` (strictly older than the span fails).
    """
    t = np.asarray(ts, dtype=np.int64).ravel()
    flags = np.ones(len(t), dtype=np.uint8)
    flags[t > now_us + round(future_tolerance_s * _US_PER_S)] = QartodFlag.FAIL
    if max_age_s is not None:
        flags[(now_us - t) > round(max_age_s * _US_PER_S)] = QartodFlag.FAIL
    return flags


def missing_timestamps(
    last_ts_us: int,
    interval_us: int,
    now_us: int,
    grace_us: int = 0,
    limit: int = 100_000,
) -> npt.NDArray[np.int64]:
    """The expected timestamps after ``last_ts_us`` that are overdue at ``now_us``.

    Readings are expected at ``last + k × interval`` (k = 1, 2, ...); one is overdue once
    ``now`` is at least ``grace_us`` past it (the grace covers network and batching delay). At most
    ``limit`` timestamps come back, the earliest, so a sensor dead for a year does not make
    millions of rows in one sweep; the next sweep continues from the last one returned.
    """
    if interval_us <= 0:
        raise ValueError("the expected interval must be positive")
    if grace_us < 0:
        raise ValueError("the grace period must not be negative")
    due = (now_us - grace_us - last_ts_us) // interval_us
    count = int(min(max(due, 0), limit))
    return last_ts_us + interval_us * np.arange(1, count + 1, dtype=np.int64)
