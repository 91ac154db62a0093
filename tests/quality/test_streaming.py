"""Streaming reading by reading gives the batch flags, once each reading's successor has arrived."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.core.errors import InvalidInput
from futago.quality import QcConfig, StreamingQc, run_batch
from futago.quality.qartod import median_interval_s
from tests.quality.series import US, qc_configs, series


def stream(qc: StreamingQc, ts: Any, values: Any, now_us: int | None = None) -> list[Any]:
    out = []
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        emitted = qc.update(t, v, now_us=now_us)
        assert len(emitted) <= 2
        out.extend(emitted)
    return out + qc.flush()


@settings(max_examples=150, deadline=None)
@given(series(max_size=40), qc_configs(), st.booleans(), st.integers(0, 4_000_000_000 * US))
def test_streaming_equals_batch(data: Any, raw: dict[str, Any], sanity: bool, now_us: int) -> None:
    ts, values = data
    if sanity:
        raw["time_sanity"] = {"future_tolerance": 60, "max_age": 86_400 * 365}
    config = QcConfig.from_dict(raw)
    interval = median_interval_s(ts) if len(ts) >= 2 else 1.0
    batch = run_batch(config, ts, values, now_us=now_us, interval_s=interval)
    readings = stream(StreamingQc(config, interval_s=interval), ts, values, now_us=now_us)
    assert [r.ts for r in readings] == ts.tolist()
    np.testing.assert_array_equal([r.aggregate for r in readings], batch.aggregate)
    for name, flags in batch.tests.items():
        np.testing.assert_array_equal([r.tests[name] for r in readings], flags, err_msg=name)


def test_flags_come_one_reading_late_and_flush_ends_the_series() -> None:
    config = QcConfig.from_dict({"spike": {"suspect_threshold": 1, "fail_threshold": 3}})
    qc = StreamingQc(config)
    assert qc.update(0, 1.0) == []
    assert qc.update(US, 9.0) == []  # the first two wait for a third (a shorter series passes flat line)
    first, second = qc.update(2 * US, 1.0)
    assert (first.tests["spike"], second.tests["spike"]) == (2, 4)
    (third,) = qc.update(3 * US, 1.0)
    assert third.ts == 2 * US and third.tests["spike"] == 4  # |1 - (9 + 1) / 2| > 3
    (last,) = qc.flush()
    assert last.ts == 3 * US and last.tests["spike"] == 2  # the end of a series is not evaluated
    assert qc.update(0, 5.0) == []  # a fresh series: earlier timestamps are fine again


def test_streaming_flat_line_needs_the_expected_spacing() -> None:
    config = QcConfig.from_dict({"flat_line": {"suspect_threshold": 10, "fail_threshold": 20}})
    with pytest.raises(InvalidInput) as err:
        StreamingQc(config)
    assert err.value.problems[0].pointer == "/flat_line"
    with_timing = QcConfig.from_dict(
        {
            "flat_line": {"suspect_threshold": 2, "fail_threshold": 4, "tolerance": 0.5},
            "timing": {"expected_interval": "1s"},
        }
    )
    ts = np.arange(8, dtype=np.int64) * US
    values = np.ones(8)
    flags = [r.tests["flat_line"] for r in stream(StreamingQc(with_timing), ts, values)]
    assert flags == run_batch(with_timing, ts, values).tests["flat_line"].tolist() == [1, 1, 3, 3, 4, 4, 4, 4]


def test_streaming_rejects_time_going_backwards() -> None:
    qc = StreamingQc(QcConfig.from_dict({"gross_range": {"fail_span": [0, 1]}}))
    qc.update(10, 0.5)
    with pytest.raises(InvalidInput):
        qc.update(10, 0.5)
