"""futago's QARTOD flags equal ioos_qc's, test by test and in aggregate, on random series and configs."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.quality import QcConfig, run_batch
from futago.quality.qartod import median_interval_s
from tests.quality.series import US, qc_configs, series

qartod = pytest.importorskip("ioos_qc.qartod")

SETTINGS = settings(max_examples=150, deadline=None)


def reference(config: dict[str, Any], ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> dict[str, Any]:
    """ioos_qc's flags for the same configuration; flat line only where ioos_qc can compute it."""
    tinp = ts.astype("datetime64[us]")
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "gross_range" in config:
            out["gross_range"] = qartod.gross_range_test(inp=values, **config["gross_range"])
        if "spike" in config:
            out["spike"] = qartod.spike_test(inp=values, **config["spike"])
        if "rate_of_change" in config:
            out["rate_of_change"] = qartod.rate_of_change_test(inp=values, tinp=tinp, **config["rate_of_change"])
        if "flat_line" in config:
            out["flat_line"] = qartod.flat_line_test(inp=values, tinp=tinp, **config["flat_line"])
    return {k: np.asarray(v, dtype=np.uint8) for k, v in out.items()}


def ioos_can_flat_line(ts: npt.NDArray[np.int64]) -> bool:
    """ioos_qc divides by the median spacing in whole seconds, so it fails below one second."""
    return len(ts) < 3 or median_interval_s(ts) >= 1


@SETTINGS
@given(series(), qc_configs())
def test_every_test_and_the_aggregate_equal_ioos_qc(data: Any, raw: dict[str, Any]) -> None:
    ts, values = data
    if "flat_line" in raw and not ioos_can_flat_line(ts):
        del raw["flat_line"]
    config = QcConfig.from_dict(raw)
    ours = run_batch(config, ts, values)
    theirs = reference(config.to_dict(), ts, values)
    assert ours.tests.keys() == theirs.keys()
    for name, flags in theirs.items():
        np.testing.assert_array_equal(ours.tests[name], flags, err_msg=name)
    if theirs:
        expected = qartod.qartod_compare(list(theirs.values()))
        np.testing.assert_array_equal(ours.aggregate, np.asarray(expected, dtype=np.uint8))


@SETTINGS
@given(
    series(min_size=3, max_size=120),
    st.floats(0, 40),
    st.floats(0, 40),
    st.sampled_from([0.0, 0.01, 0.5, 1.0, 3.0]),
    st.sampled_from([1, 1, 2, 5, 60]),
)
def test_flat_line_on_regular_series_equals_ioos_qc(
    data: Any, a: float, b: float, tolerance: float, step_s: int
) -> None:
    """Long, regular series with stuck stretches, where windows of many readings matter."""
    _, values = data
    values = np.round(values / 7, 0) if len(values) % 2 else values  # more repeats
    ts = (np.arange(len(values), dtype=np.int64) * step_s * US) + 1_600_000_000 * US
    low, high = sorted([a, b])
    config = {"suspect_threshold": low, "fail_threshold": high, "tolerance": tolerance}
    ours = run_batch(QcConfig.from_dict({"flat_line": config}), ts, values).tests["flat_line"]
    np.testing.assert_array_equal(ours, reference({"flat_line": config}, ts, values)["flat_line"])


def test_sub_second_flat_line_uses_the_exact_spacing_where_ioos_qc_fails() -> None:
    ts = np.arange(10, dtype=np.int64) * 500_000
    values = np.array([1, 1, 1, 1, 1, 2, 3, 4, 4, 4], dtype=np.float64)
    flags = run_batch(
        QcConfig.from_dict({"flat_line": {"suspect_threshold": 1, "fail_threshold": 2, "tolerance": 0.1}}),
        ts,
        values,
    )
    # 1 s / 0.5 s = 2 earlier readings for suspect, 4 for fail.
    assert flags.tests["flat_line"].tolist() == [1, 1, 3, 3, 4, 1, 1, 1, 1, 3]
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qartod.flat_line_test(values, ts.astype("datetime64[us]"), 1, 2, 0.1)


def test_known_corners_match_ioos_qc() -> None:
    """Cases found while reading ioos_qc: ±inf FAILs gross range, sub-second steps compare the raw change."""
    values = np.array([np.nan, np.inf, -np.inf, 1.0, 2.0, 5.0, 5.0, 1e308, -1e308, 1e308])
    ts = np.array([0, 1, 2, 3, 3.5, 4, 4.2, 6, 7, 8]) * US
    raw = {
        "gross_range": {"fail_span": [0, 10], "suspect_span": [0.5, 9]},
        "spike": {"suspect_threshold": 2, "fail_threshold": 5},
        "rate_of_change": {"threshold": 1, "fail_threshold": 10},
    }
    ours = run_batch(QcConfig.from_dict(raw), ts.astype(np.int64), values)
    theirs = reference(raw, ts.astype(np.int64), values)
    for name, flags in theirs.items():
        np.testing.assert_array_equal(ours.tests[name], flags, err_msg=name)
    assert ours.tests["gross_range"][:3].tolist() == [9, 4, 4]
