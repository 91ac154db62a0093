"""Hypothesis strategies for the quality tests: awkward series and random valid configurations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

US = 1_000_000

# Values: repeats (flat lines), ordinary noise, NaN gaps, huge jumps that overflow sums, ±inf.
values_element = st.one_of(
    st.sampled_from([0.0, 1.0, 1.0, 1.5, 2.0, 5.0]),
    st.sampled_from([0.0, 1.0, 1.0, 1.5, 2.0, 5.0]),
    st.floats(-1_000, 1_000, allow_nan=False),
    st.floats(-1_000, 1_000, allow_nan=False),
    st.just(math.nan),
    st.sampled_from([1e300, -1e300, 1.7e308, -1.7e308, 1e-310]),
    st.sampled_from([1e308, -1e308, 9e307, 4.5e307, 1.7e308]),
    st.sampled_from([math.inf, -math.inf]),
)

# Steps between readings in µs: mostly whole seconds, some irregular, some sub-second.
step_element = st.one_of(
    st.sampled_from([US, US, 2 * US, 60 * US]),
    st.integers(US, 600 * US),
    st.integers(1, US - 1),
    st.integers(US, 3 * 3600 * US),
)


@st.composite
def series(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 60
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(ts µs strictly increasing, values) of one telemetry."""
    values = draw(st.lists(values_element, min_size=min_size, max_size=max_size))
    steps = draw(st.lists(step_element, min_size=len(values), max_size=len(values)))
    start = draw(st.integers(0, 2_000_000_000 * US))
    ts = start + np.cumsum(np.array(steps, dtype=np.int64)) - steps[0]
    return ts.astype(np.int64), np.array(values, dtype=np.float64)


def _pair(draw: st.DrawFn, low: float, high: float) -> list[float]:
    a = draw(st.floats(low, high, allow_nan=False))
    b = draw(st.floats(low, high, allow_nan=False))
    return sorted([a, b])


threshold = st.one_of(st.just(0.0), st.floats(0, 50, allow_nan=False), st.floats(0, 2_000, allow_nan=False))


@st.composite
def qc_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid configuration of the four value tests (each present or not)."""
    config: dict[str, Any] = {}
    if draw(st.booleans()):
        fail = _pair(draw, -1_500, 1_500)
        config["gross_range"] = {"fail_span": draw(st.permutations(fail))}
        if draw(st.booleans()):
            config["gross_range"]["suspect_span"] = _pair(draw, fail[0], fail[1])
    if draw(st.booleans()):
        low, high = sorted([draw(threshold), draw(threshold)])
        spike: dict[str, Any] = {"method": draw(st.sampled_from(["average", "differential"]))}
        which = draw(st.sampled_from(["both", "suspect", "fail"]))
        if which != "fail":
            spike["suspect_threshold"] = low
        if which != "suspect":
            spike["fail_threshold"] = high
        config["spike"] = spike
    if draw(st.booleans()):
        low, high = sorted([draw(threshold), draw(threshold)])
        config["rate_of_change"] = {"threshold": low}
        if draw(st.booleans()):
            config["rate_of_change"]["fail_threshold"] = high
    if draw(st.booleans()):
        low, high = sorted([draw(st.floats(0, 30)), draw(st.floats(0, 30))])
        tolerance = draw(st.one_of(st.just(0.0), st.floats(0, 3, allow_nan=False)))
        config["flat_line"] = {"suspect_threshold": low, "fail_threshold": high, "tolerance": tolerance}
    return config
