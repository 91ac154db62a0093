"""Gap filling: known answers, raw readings untouched, long gaps left visible."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.core.errors import InvalidInput
from futago.quality import fill_gaps

NAN = np.nan


def test_linear_fills_missing_slots() -> None:
    ts, v, mask = fill_gaps([0, 10, 40, 50], [0.0, 1.0, 4.0, 5.0], 10)
    assert ts.tolist() == [0, 10, 20, 30, 40, 50]
    np.testing.assert_array_equal(v, [0, 1, 2, 3, 4, 5])
    assert mask.tolist() == [False, False, True, True, False, False]


def test_ffill_holds_the_value_before_the_gap() -> None:
    ts, v, mask = fill_gaps([0, 30, 40], [7.0, 1.0, 2.0], 10, method="ffill")
    assert ts.tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_array_equal(v, [7, 7, 7, 1, 2])
    assert mask.tolist() == [False, True, True, False, False]


def test_nan_readings_are_gaps_filled_in_place() -> None:
    ts, v, mask = fill_gaps([0, 10, 20, 30], [0.0, NAN, np.inf, 6.0], 10)
    assert ts.tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(v, [0, 2, 4, 6])
    assert mask.tolist() == [False, True, True, False]


def test_long_gaps_stay_missing_but_keep_the_grid() -> None:
    ts, v, mask = fill_gaps([0, 20, 70, 80], [0.0, 2.0, 7.0, 8.0], 10, max_gap_us=30)
    assert ts.tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    np.testing.assert_array_equal(v, [0, 1, 2, NAN, NAN, NAN, NAN, 7, 8])
    assert mask.tolist() == [False, True, False, False, False, False, False, False, False]
    # a gap exactly max_gap long is filled
    _, v2, _ = fill_gaps([0, 30], [0.0, 3.0], 10, max_gap_us=30)
    np.testing.assert_array_equal(v2, [0, 1, 2, 3])


def test_edges_are_never_invented() -> None:
    ts, v, mask = fill_gaps([0, 10, 20, 30, 40], [NAN, 1.0, 2.0, NAN, NAN], 10, method="ffill")
    assert ts.tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_array_equal(v, [NAN, 1, 2, NAN, NAN])
    assert not mask.any()


def test_grid_follows_the_cadence_before_each_gap_and_keeps_clear_of_raw() -> None:
    # jittery readings: 0, 1003 (next due 2003, 3003, next raw 3400: 3003 is within half an interval)
    ts, v, mask = fill_gaps([0, 1003, 3400], [0.0, 1003.0, 3400.0], 1000)
    assert ts.tolist() == [0, 1003, 2003, 3400]
    np.testing.assert_allclose(v, [0, 1003, 2003, 3400])
    assert mask.tolist() == [False, False, True, False]
    # a reading 1.4 intervals after the last gets no point squeezed in between
    assert fill_gaps([0, 1400], [0.0, 1.0], 1000)[0].tolist() == [0, 1400]
    assert fill_gaps([0, 1500], [0.0, 1.0], 1000)[0].tolist() == [0, 1000, 1500]


def test_nan_raw_off_grid_and_on_grid() -> None:
    ts, v, mask = fill_gaps([0, 15, 20, 40], [0.0, NAN, NAN, 4.0], 10)
    assert ts.tolist() == [0, 10, 15, 20, 30, 40]  # 20 is both a grid slot and a raw timestamp: once
    np.testing.assert_allclose(v, [0, 1, 1.5, 2, 3, 4])
    assert mask.tolist() == [False, True, True, True, True, False]


def test_microsecond_timestamps_at_epoch_scale_interpolate_exactly() -> None:
    t0 = 1_700_000_000_000_000
    ts, v, _ = fill_gaps([t0, t0 + 4], [10.0, 14.0], 1)
    assert (ts - t0).tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(v, [10, 11, 12, 13, 14])


def test_empty_and_all_missing() -> None:
    ts, v, mask = fill_gaps([], [], 10)
    assert ts.size == v.size == mask.size == 0
    ts, v, mask = fill_gaps([0, 100], [NAN, NAN], 10)
    assert ts.tolist() == [0, 100] and np.isnan(v).all() and not mask.any()


@pytest.mark.parametrize(
    ("args", "kwargs", "pointer"),
    [
        (([0, 10], [1.0, 2.0], 0), {}, "/interval"),
        (([0, 10], [1.0, 2.0], 1.5), {}, "/interval"),
        (([0, 10], [1.0, 2.0], 5), {"method": "cubic"}, "/method"),
        (([0, 10], [1.0, 2.0], 5), {"max_gap_us": 0}, "/maxGap"),
        (([0, 10, 10], [1.0, 2.0, 3.0], 5), {}, "/ts/2"),
        (([0, 10], [1.0], 5), {}, "/values"),
        (([0, 10**9], [1.0, 2.0], 1), {"max_points": 1000}, "/interval"),
    ],
)
def test_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        fill_gaps(*args, **kwargs)
    assert exc.value.problems[0].pointer == pointer


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 60), st.one_of(st.floats(-100, 100), st.just(NAN))), max_size=40),
    st.integers(1, 10),
    st.sampled_from(["linear", "ffill"]),
    st.one_of(st.none(), st.integers(1, 80)),
)
def test_properties(rows: list[tuple[int, float]], interval: int, method: Any, max_gap: int | None) -> None:
    raw_ts = np.cumsum([step for step, _ in rows]).astype(np.int64)
    raw_v = np.array([value for _, value in rows], dtype=np.float64)
    ts, v, mask = fill_gaps(raw_ts, raw_v, interval, method=method, max_gap_us=max_gap)
    assert np.all(np.diff(ts) > 0)
    assert set(raw_ts.tolist()) <= set(ts.tolist())
    at_raw = np.isin(ts, raw_ts)
    valid = np.isfinite(raw_v)
    # raw readings come through bit for bit and are never marked
    np.testing.assert_array_equal(v[np.isin(ts, raw_ts[valid])], raw_v[valid])
    assert not mask[np.isin(ts, raw_ts[valid])].any()
    # what was filled is finite and marked; what is new and not filled is NaN
    assert np.isfinite(v[mask]).all()
    assert np.isnan(v[~mask & ~at_raw]).all()
    if valid.any():
        lo, hi = raw_ts[valid][0], raw_ts[valid][-1]
        assert not mask[(ts < lo) | (ts > hi)].any()
        filled_v = v[mask]
        assert ((filled_v >= raw_v[valid].min() - 1e-9) & (filled_v <= raw_v[valid].max() + 1e-9)).all()
