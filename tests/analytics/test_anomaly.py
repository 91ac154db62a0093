"""Behaviour of the anomaly detectors on a synthetic plant with an injected fault.

The plant: three noisy, autocorrelated sensors and one slowly drifting "temperature". A 400-row training
stretch of normal operation, then 600 rows in which sensor 1 steps up by five standard deviations for
200 rows (rows 200–399 of the test part). Every detector must catch most of the fault without alarming on
the drift of the temperature, which it monitors as a rate of change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest

from futago.analytics.anomaly.base import dither, estimated_floor
from futago.analytics.anomaly.conditioning import condition, warmup
from futago.analytics.anomaly.ensemble import EnsembleDetector
from futago.analytics.anomaly.ewma import CUSUMChart, EWMAChart, long_run_scale
from futago.analytics.anomaly.forest import IsolationForestDetector
from futago.analytics.anomaly.pca import PCADetector
from futago.analytics.anomaly.robust import RobustZScore
from futago.analytics.protocol import Detector, NotFittedError
from futago.core.errors import InvalidInput

TRAIN = 400
FAULT = slice(200, 400)  # in test rows
DRIFT = 3  # the drifting column

FACTORIES: dict[str, Callable[[], Detector]] = {
    "robust_z": lambda: RobustZScore(smoothing=5, rate_columns=(DRIFT,)),
    "pca_t2q": lambda: PCADetector(rate_columns=(DRIFT,)),
    "ewma": lambda: EWMAChart(rate_columns=(DRIFT,)),
    "cusum": lambda: CUSUMChart(k=1.0, rate_columns=(DRIFT,)),
    "iforest": lambda: IsolationForestDetector(n_estimators=100, rate_columns=(DRIFT,)),
    "ensemble": lambda: EnsembleDetector(
        members=[PCADetector(rate_columns=(DRIFT,)), EWMAChart(rate_columns=(DRIFT,))]
    ),
}


def _plant(seed: int = 0, fault: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = TRAIN + 600
    noise = rng.normal(size=(n, 4))
    rows = np.empty((n, 4))
    rows[0] = noise[0]
    for t in range(1, n):  # AR(1): real sensors are autocorrelated, not white
        rows[t] = 0.5 * rows[t - 1] + noise[t] * np.sqrt(1 - 0.25)
    # The "temperature" drifts steadily (0.02 per row: 12 units over the test part), far beyond its training spread.
    rows[:, DRIFT] = 0.02 * np.arange(n) + 0.1 * noise[:, DRIFT]
    rows[TRAIN + FAULT.start : TRAIN + FAULT.stop, 1] += fault
    return rows


def _labels() -> np.ndarray:
    truth = np.zeros(600, dtype=bool)
    truth[FAULT] = True
    return truth


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_detects_injected_fault_and_ignores_drift(name: str) -> None:
    rows = _plant()
    detector = FACTORIES[name]().fit(rows[:TRAIN])
    alarms = detector.predict(rows[TRAIN:]) == 1
    truth = _labels()
    recall = alarms[truth].mean()
    false_alarms = alarms[~truth].mean()
    assert false_alarms <= 0.1, f"{name} raised alarms on {false_alarms:.0%} of normal rows"
    if name == "iforest":
        # An isolation forest cannot isolate a row beyond the training range any faster than the most extreme
        # training row, so its score saturates at about its threshold: it flags the fault, patchily.
        assert recall >= 0.15 and recall >= 5 * false_alarms, f"{name} caught {recall:.0%} of the fault"
    else:
        assert recall >= 0.9, f"{name} caught {recall:.0%} of the fault"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_without_fault_nothing_much_alarms(name: str) -> None:
    rows = _plant(seed=1, fault=0.0)
    alarms = FACTORIES[name]().fit(rows[:TRAIN]).predict(rows[TRAIN:])
    assert alarms.mean() <= 0.1


def test_level_of_a_drifting_column_would_alarm() -> None:
    """Why drifting columns are monitored as rates: a drift that starts after training makes the rows of its
    level look anomalous (the training window showed no wander, so no wander band excuses it), while the rate
    of a column that drifts steadily throughout stays within its limits."""
    rows = _plant(seed=1, fault=0.0)
    late = rows.copy()
    steady = np.random.default_rng(1).normal(size=len(rows)) * 0.1
    late[:, DRIFT] = steady + 0.02 * np.maximum(np.arange(len(rows)) - TRAIN, 0)
    assert PCADetector().fit(late[:TRAIN]).predict(late[TRAIN:]).mean() > 0.4
    assert PCADetector(rate_columns=(DRIFT,)).fit(rows[:TRAIN]).predict(rows[TRAIN:]).mean() < 0.1


def test_wander_seen_in_training_widens_only_its_own_column() -> None:
    """A level that wanders in the training window is expected to go on wandering (``base.wander_band``): its
    deviations are scaled down, while an autocorrelated but stationary column keeps its full sensitivity."""
    rows = _plant(seed=1, fault=0.0)  # column DRIFT climbs 8 units during training, 12 more afterwards
    detector = PCADetector().fit(rows[:TRAIN])
    assert detector.predict(rows[TRAIN:]).mean() < 0.05
    shrink = detector.spread_ / np.sqrt(detector.spread_**2 + detector.band_**2)
    assert shrink[DRIFT] < 0.3
    # AR(1) noise is short memory, not wander: nothing on average, though nine blocks estimate it roughly.
    assert np.all(shrink[:DRIFT] > 0.6)
    # The same fault as always is still caught on a stationary column.
    faulty = _plant(seed=1)
    assert PCADetector().fit(faulty[:TRAIN]).predict(faulty[TRAIN:])[_labels()].mean() > 0.9


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_threshold_comes_from_training_rows_only(name: str) -> None:
    rows = _plant()
    detector = FACTORIES[name]().fit(rows[:TRAIN])
    threshold = detector.threshold_
    detector.predict(rows[TRAIN:])
    assert detector.threshold_ == threshold, "scoring must not move the threshold"
    # The same training rows followed by a different future give the same model and threshold.
    other = FACTORIES[name]().fit(_plant(fault=50.0)[:TRAIN])
    assert other.threshold_ == threshold


def test_threshold_is_a_training_quantile_times_margin() -> None:
    rows = _plant()
    detector = PCADetector(smoothing=1, quantile=0.95, margin=1.7).fit(rows[:TRAIN])
    # The training rows as learned: dithered by each sensor's noise floor (see anomaly.base).
    learned = dither(rows[:TRAIN], detector.noise_floor_)
    training_scores = detector._score_features(learned, detector._initial_state())[0]
    assert detector.threshold_ == pytest.approx(np.quantile(training_scores, 0.95) * 1.7)


def test_noise_floor_is_declared_or_estimated_from_resolution_and_level() -> None:
    counts = np.tile([32.0, 33.0], 50)  # a flow meter dithering between whole counts
    level = np.full(100, 350.0)  # a settled reading at 350 K
    floors = estimated_floor(np.column_stack([counts, level]))
    assert floors == pytest.approx([max(1.0 / np.sqrt(12.0), 0.0325), 0.35])
    declared = EWMAChart(noise_floor=(0.5, 0.2)).fit(np.column_stack([counts, level]))
    assert declared.noise_floor_.tolist() == [0.5, 0.2]
    with pytest.raises(InvalidInput, match="noise_floor"):
        EWMAChart(noise_floor=(0.5,)).fit(np.column_stack([counts, level]))
    with pytest.raises(InvalidInput, match="noise_floor"):
        EWMAChart(noise_floor=-1.0).fit(np.column_stack([counts, level]))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_streaming_chunks_and_batch_agree_and_are_causal(name: str) -> None:
    rows = _plant()
    test = rows[TRAIN:]
    fitted = FACTORIES[name]().fit(rows[:TRAIN])
    batch = copy.deepcopy(fitted).score(test)
    # Row by row, as live monitoring does, up to and into the fault ...
    stream = copy.deepcopy(fitted)
    one_by_one = np.array([stream.score_one(row) for row in test[:260]])
    np.testing.assert_allclose(one_by_one, batch[:260], rtol=1e-9, atol=1e-12)
    # ... then in uneven chunks, as a periodic job does: each call carries on where the last one stopped.
    pieces = [stream.score(chunk) for chunk in np.array_split(test[260:], [1, 41, 42, 200])]
    np.testing.assert_allclose(np.concatenate(pieces), batch[260:], rtol=1e-9, atol=1e-12)
    # No look-ahead: the first rows score the same whether or not later rows come in the same call.
    np.testing.assert_allclose(copy.deepcopy(fitted).score(test[:100]), batch[:100], rtol=1e-12, atol=0)


def test_learn_one_waits_for_enough_rows_then_matches_fit() -> None:
    rows = _plant()[:TRAIN]
    online = PCADetector(smoothing=5)
    for row in rows[:20]:
        online.learn_one(row)
    assert not online.is_fitted
    with pytest.raises(NotFittedError):
        online.predict(rows[:3])
    for row in rows[20:]:
        online.learn_one(row)
    batch = PCADetector(smoothing=5).fit(rows)
    assert online.threshold_ == pytest.approx(batch.threshold_)
    probe = _plant(seed=3)[TRAIN:]
    np.testing.assert_allclose(online.score(probe), batch.score(probe), rtol=1e-9)


def test_isolation_forest_has_no_online_update() -> None:
    with pytest.raises(NotImplementedError):
        IsolationForestDetector().learn_one(np.zeros(3))


def test_ensemble_streams_through_its_members() -> None:
    rows = _plant()
    online = EnsembleDetector(members=[EWMAChart(), RobustZScore()])
    for row in rows[:TRAIN]:
        online.learn_one(row)
    assert online.is_fitted and len(online.members_) == 2
    assert online.threshold_ == 1.0
    assert online.predict_one(rows[TRAIN]) in (0.0, 1.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PCADetector(smoothing=0),
        lambda: PCADetector(statistic="nope"),  # type: ignore[arg-type]
        lambda: PCADetector(variance=1.5),
        lambda: RobustZScore(rate_columns=(9,)),
        lambda: EWMAChart(lam=0.0),
        lambda: CUSUMChart(cap=1.0),
        lambda: EnsembleDetector(combine="max"),  # type: ignore[arg-type]
        lambda: EnsembleDetector(members=[]),
    ],
)
def test_bad_parameters_are_reported_at_fit(make: Callable[[], Detector]) -> None:
    with pytest.raises(InvalidInput):
        make().fit(_plant()[:TRAIN])


def test_too_few_training_rows_are_reported() -> None:
    with pytest.raises(InvalidInput, match="training rows"):
        EWMAChart(rate_columns=(0,), rate_lag=30).fit(np.zeros((60, 2)))


def test_conditioning_rates_and_causal_mean() -> None:
    rows = np.column_stack([np.arange(10.0), np.arange(10.0) ** 2])
    features = condition(rows, smoothing=3, rate_columns=(1,), rate_lag=2)
    assert warmup(3, (1,), 2) == 4
    # A feature needs the rows its window and lag reach back to: 2 for column 0, 4 for the rate column.
    assert np.isnan(features[:2, 0]).all() and np.isfinite(features[2:, 0]).all()
    assert np.isnan(features[:4, 1]).all() and np.isfinite(features[4:, 1]).all()
    # column 0: mean of the last 3 values; column 1: mean of the last 3 two-row differences of t².
    assert features[5, 0] == pytest.approx((3 + 4 + 5) / 3)
    assert features[5, 1] == pytest.approx(((9 - 1) + (16 - 4) + (25 - 9)) / 3)
    np.testing.assert_array_equal(condition(rows, 1, (), 30), rows)


def test_long_run_scale_sees_through_autocorrelation() -> None:
    rng = np.random.default_rng(5)
    white = rng.normal(size=(4000, 1))
    wander = np.zeros_like(white)
    for t in range(1, len(white)):
        wander[t] = 0.9 * wander[t - 1] + white[t]
    # White noise: the long-run scale is the ordinary one; AR(1) at 0.9: the sums spread far wider.
    assert long_run_scale(white - white.mean())[0] == pytest.approx(1.0, rel=0.1)
    assert long_run_scale(wander - wander.mean())[0] > 2.0 * wander.std()
