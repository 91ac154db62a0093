"""Gaps, time sanity and the aggregate rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.quality import aggregate, aggregate_one, missing_timestamps, time_sanity_test
from futago.quality.windows import sliding_max, sliding_min

US = 1_000_000
qartod = pytest.importorskip("ioos_qc.qartod")


def test_missing_timestamps_lists_the_overdue_expected_readings() -> None:
    last = 1_000 * US
    assert missing_timestamps(last, 60 * US, last + 59 * US).tolist() == []
    assert missing_timestamps(last, 60 * US, last + 180 * US).tolist() == [
        last + 60 * US,
        last + 120 * US,
        last + 180 * US,
    ]
    assert missing_timestamps(last, 60 * US, last + 180 * US, grace_us=10 * US).tolist() == [
        last + 60 * US,
        last + 120 * US,
    ]
    assert len(missing_timestamps(last, US, last + 10**6 * US, limit=5)) == 5
    with pytest.raises(ValueError):
        missing_timestamps(last, 0, last)


def test_time_sanity_fails_future_and_stale_readings() -> None:
    now = 10_000 * US
    ts = np.array([now - 3_601 * US, now - 3_600 * US, now, now + 30 * US, now + 31 * US])
    assert time_sanity_test(ts, now, future_tolerance_s=30, max_age_s=3_600).tolist() == [4, 1, 1, 1, 4]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-100 * 3600, 100 * 3600), min_size=1, max_size=30), st.integers(1, 48))
def test_max_age_equals_ioos_data_reception(offsets_s: list[int], hours: int) -> None:
    now = 1_700_000_000 * US
    ts = now + np.array(offsets_s, dtype=np.int64) * US
    ours = time_sanity_test(ts, now, future_tolerance_s=10**9, max_age_s=hours * 3600)
    theirs = qartod.data_reception_test(
        ts.astype("datetime64[us]"), fail_span=hours, from_time=np.datetime64(now, "us")
    )
    np.testing.assert_array_equal(ours, np.asarray(theirs, dtype=np.uint8))


flag = st.sampled_from([1, 2, 3, 4, 9])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: st.lists(st.lists(flag, min_size=k, max_size=k), min_size=1, max_size=5)))
def test_aggregate_equals_ioos_qartod_compare(rows: list[list[int]]) -> None:
    arrays = [np.array(r, dtype=np.uint8) for r in rows]
    expected = np.asarray(qartod.qartod_compare(arrays), dtype=np.uint8)
    np.testing.assert_array_equal(aggregate(arrays), expected)
    assert [aggregate_one(col) for col in zip(*rows, strict=True)] == expected.tolist()


def test_no_tests_means_not_evaluated() -> None:
    assert aggregate([], size=2).tolist() == [2, 2]
    assert aggregate_one([]) == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.integers(1, 60))
def test_sliding_extremes_equal_the_obvious_ones(values: list[float], window: int) -> None:
    x = np.array(values)
    n = max(len(x) - window + 1, 0)
    np.testing.assert_array_equal(sliding_min(x, window), [x[j : j + window].min() for j in range(n)])
    np.testing.assert_array_equal(sliding_max(x, window), [x[j : j + window].max() for j in range(n)])
