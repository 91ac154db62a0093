"""Drift detectors: alarms after a known onset with a close estimated start, silence on noise."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.core.errors import InvalidInput
from futago.quality import Cusum, DriftAlarm, PageHinkley, residuals_against

S = 1_000_000
ONSET = 500
TOLERANCE = 50  # samples either side of the true onset


def cusum() -> Cusum:
    return Cusum(delta=0.5, threshold=15.0)


def page_hinkley() -> PageHinkley:
    return PageHinkley(delta=0.5, threshold=25.0)


DETECTORS = [cusum, page_hinkley]


def ramp(seed: int, n: int = 1_500, slope: float = 0.05) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Unit-σ noise, then a ramp of ``slope`` per step from index ONSET."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    x[ONSET:] += slope * np.arange(n - ONSET)
    return np.arange(n, dtype=np.int64) * S, x


@pytest.mark.parametrize("make", DETECTORS)
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("sign", [1, -1])
def test_ramp_alarms_after_onset_with_start_near_it(make: Any, seed: int, sign: int) -> None:
    ts, x = ramp(seed)
    alarms = make().detect(ts, sign * x)
    assert alarms, "the drift went unnoticed"
    first = alarms[0]
    assert first.detected_at_us > ONSET * S
    assert abs(first.estimated_start_us - ONSET * S) <= TOLERANCE * S
    assert first.estimated_start_us <= first.detected_at_us
    assert first.direction == ("up" if sign > 0 else "down")
    assert 0.5 < first.magnitude < 5


@pytest.mark.parametrize("make", DETECTORS)
@pytest.mark.parametrize("seed", range(3))
def test_no_alarm_on_pure_noise(make: Any, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x = rng.normal(0.0, 1.0, 10_000)
    assert make().detect(np.arange(x.size) * S, x) == []


def test_step_estimate_and_magnitude() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 0.2, 400)
    x[200:] += 2.0
    alarm = Cusum(delta=0.5, threshold=5.0).detect(np.arange(x.size) * S, x)[0]
    assert alarm.estimated_start_us == 200 * S
    assert alarm.detected_at_us == 203 * S
    assert alarm.magnitude == pytest.approx(2.0, abs=0.3)


def test_learned_baseline_tolerates_a_constant_offset() -> None:
    rng = np.random.default_rng(11)
    x = 3.0 + rng.normal(0.0, 1.0, 5_000)
    ts = np.arange(x.size) * S
    assert Cusum(0.5, 15.0).detect(ts, x)  # against 0 the offset is drift
    assert Cusum(0.5, 15.0, target=None, min_samples=200).detect(ts, x) == []
    assert PageHinkley(0.5, 25.0).detect(ts, x) == []
    assert PageHinkley(0.5, 25.0, target=0.0).detect(ts, x)


def test_min_samples_holds_alarms_back() -> None:
    x = np.full(50, 10.0)
    ts = np.arange(x.size) * S
    assert Cusum(0.5, 5.0).detect(ts, x)[0].detected_at_us == 0
    assert Cusum(0.5, 5.0, min_samples=20).detect(ts, x)[0].detected_at_us == 19 * S


def test_nan_residuals_are_skipped() -> None:
    ts, x = ramp(0)
    with_gaps = x.copy()
    with_gaps[::7] = np.nan
    alarms = cusum().detect(ts, with_gaps)
    assert alarms and alarms[0].detected_at_us > ONSET * S
    assert all(a.detected_at_us % (7 * S) != 0 for a in alarms)


def test_alarm_json() -> None:
    alarm = DriftAlarm(1_700_000_000_000_000, 1_699_999_000_000_000, 0.75, "up")
    assert alarm.to_json() == {
        "detectedAt": "2023-11-14T22:13:20.000Z",
        "estimatedStart": "2023-11-14T21:56:40.000Z",
        "magnitude": 0.75,
        "direction": "up",
    }


@pytest.mark.parametrize(
    ("kwargs", "pointer"),
    [
        ({"delta": -1, "threshold": 1}, "/delta"),
        ({"delta": float("inf"), "threshold": 1}, "/delta"),
        ({"delta": 0, "threshold": 0}, "/threshold"),
        ({"delta": 0, "threshold": float("nan")}, "/threshold"),
        ({"delta": 0, "threshold": 1, "min_samples": 0}, "/min_samples"),
        ({"delta": 0, "threshold": 1, "min_samples": 2.5}, "/min_samples"),
        ({"delta": 0, "threshold": 1, "target": float("nan")}, "/target"),
    ],
)
@pytest.mark.parametrize("cls", [Cusum, PageHinkley])
def test_parameters_are_validated(cls: Any, kwargs: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        cls(**kwargs)
    assert [p.pointer for p in exc.value.problems] == [pointer]


@pytest.mark.parametrize("make", DETECTORS)
def test_time_must_increase(make: Any) -> None:
    detector = make()
    with pytest.raises(InvalidInput) as exc:
        detector.detect([0, 2, 2], [0.0, 0.0, 0.0])
    assert exc.value.problems[0].pointer == "/ts/2"
    detector.update(10, 0.0)
    with pytest.raises(InvalidInput):
        detector.update(10, 0.0)
    with pytest.raises(InvalidInput):
        detector.detect([1, 2], [0.0])


residual = st.one_of(st.floats(-3, 3, allow_nan=False), st.floats(-50, 50, allow_nan=False), st.just(float("nan")))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(residual, max_size=300),
    st.sampled_from(["cusum", "ph"]),
    st.floats(0, 2),
    st.floats(0.1, 20),
    st.integers(1, 40),
    st.one_of(st.none(), st.floats(-2, 2)),
    st.lists(st.integers(0, 300), max_size=4),
)
def test_streaming_equals_batch_in_any_chunks(
    values: list[float],
    kind: str,
    delta: float,
    threshold: float,
    min_samples: int,
    target: float | None,
    cuts: list[int],
) -> None:
    cls = Cusum if kind == "cusum" else PageHinkley
    ts = np.arange(len(values), dtype=np.int64) * 10 * S + 5
    x = np.array(values, dtype=np.float64)
    batch = cls(delta, threshold, min_samples, target).detect(ts, x)
    streaming = cls(delta, threshold, min_samples, target)
    streamed = [a for t, v in zip(ts.tolist(), values, strict=True) if (a := streaming.update(t, v))]
    assert streamed == batch
    chunked_detector = cls(delta, threshold, min_samples, target)
    bounds = [0, *sorted(c for c in cuts if c <= len(values)), len(values)]
    chunked = [a for lo, hi in pairwise(bounds) for a in chunked_detector.detect(ts[lo:hi], x[lo:hi])]
    assert chunked == batch
    for alarm in batch:
        assert alarm.estimated_start_us <= alarm.detected_at_us
        assert alarm.magnitude >= 0


def test_residuals_against_interpolates_the_reference() -> None:
    ref_ts = np.array([0, 10, 20, 100], dtype=np.int64)
    ref = np.array([0.0, 10.0, np.nan, 50.0])
    ts = np.array([-5, 0, 5, 10, 15, 50, 100, 120], dtype=np.int64)
    values = np.array([1.0, 1.0, 6.0, 10.5, 1.0, 1.0, 49.0, 1.0])
    out = residuals_against(ts, values, ref_ts, ref)
    np.testing.assert_array_equal(out, [np.nan, 1.0, 1.0, 0.5, np.nan, np.nan, -1.0, np.nan])
    gapped = residuals_against([5, 50], [6.0, 30.0], [0, 10, 100], [0.0, 10.0, 100.0], max_gap_us=20)
    np.testing.assert_array_equal(gapped, [1.0, np.nan])
    assert np.isnan(residuals_against([1], [1.0], [], [])).all()
