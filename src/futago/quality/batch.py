"""Run a telemetry's configured QARTOD tests over a whole series and keep every test's flags.

Per-test flags are kept, not only the aggregate, so a dashboard can say *which* test failed a
reading, and so each test can be compared one by one with the reference implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.quality.config import QcConfig
from futago.quality.flags import FlagArray, aggregate
from futago.quality.qartod import (
    flat_line_test,
    gross_range_test,
    rate_of_change_test,
    spike_test,
)
from futago.quality.timing import time_sanity_test


@dataclass(frozen=True, slots=True)
class QcResult:
    """``tests`` maps each test that ran (``gross_range``, ``spike``, ...) to its flags."""

    tests: dict[str, FlagArray]
    aggregate: FlagArray


def run_batch(
    config: QcConfig,
    ts: npt.ArrayLike,
    values: npt.ArrayLike,
    now_us: int | None = None,
    interval_s: float | None = None,
) -> QcResult:
    """Every configured test over one series, sorted by time with one reading per timestamp.

    ``time_sanity`` runs only when ``now_us`` is given, since its answer depends on the clock.
    ``interval_s`` replaces the median spacing in the flat-line test (as streaming does).
    """
    t = np.asarray(ts, dtype=np.int64).ravel()
    x = np.asarray(values, dtype=np.float64).ravel()
    if len(t) != len(x):
        raise InvalidInput([Problem("/values", f"{len(x)} values but {len(t)} timestamps")])
    if len(t) > 1 and not bool(np.all(t[1:] > t[:-1])):
        raise InvalidInput([Problem("/ts", "timestamps must be strictly increasing (one reading per timestamp)")])
    tests: dict[str, FlagArray] = {}
    if config.gross_range is not None:
        gr = config.gross_range
        tests["gross_range"] = gross_range_test(x, gr.fail_span, gr.suspect_span)
    if config.spike is not None:
        sp = config.spike
        tests["spike"] = spike_test(x, sp.suspect_threshold, sp.fail_threshold, sp.method)
    if config.rate_of_change is not None:
        roc = config.rate_of_change
        tests["rate_of_change"] = rate_of_change_test(x, t, roc.threshold, roc.fail_threshold)
    if config.flat_line is not None:
        fl = config.flat_line
        tests["flat_line"] = flat_line_test(x, t, fl.suspect_threshold, fl.fail_threshold, fl.tolerance, interval_s)
    if config.time_sanity is not None and now_us is not None:
        ts_cfg = config.time_sanity
        tests["time_sanity"] = time_sanity_test(t, now_us, ts_cfg.future_tolerance, ts_cfg.max_age)
    return QcResult(tests, aggregate(tests, size=len(x)))
