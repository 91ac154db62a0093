"""Remaining useful life: history features and the PHM08 score on hand-computed values, and a synthetic fleet."""

from __future__ import annotations

import math

import numpy as np
import pytest

from futago.analytics.protocol import NotFittedError
from futago.analytics.rul import (
    DegradationFeatures,
    GradientBoostingRUL,
    RidgeRUL,
    phm08_score,
    rolling_mean_slope,
    run_to_failure_rul,
    unit_runs,
)
from futago.core.errors import InvalidInput
from tests.analytics.cases.rul import synthetic_fleet


# rolling windows ----------------------------------------------------------------------------------
def test_rolling_mean_slope_by_hand() -> None:
    values = np.array([1.0, 2.0, 4.0, 8.0])
    mean, slope = rolling_mean_slope(values, window=2)
    np.testing.assert_allclose(mean[:, 0], [1.0, 1.5, 3.0, 6.0])
    np.testing.assert_allclose(slope[:, 0], [0.0, 1.0, 2.0, 4.0])
    mean, slope = rolling_mean_slope(values, window=3)
    np.testing.assert_allclose(mean[:, 0], [1.0, 1.5, 7.0 / 3.0, 14.0 / 3.0])
    # Rows 2 and 3: least-squares slopes through (0, 1), (1, 2), (2, 4) and (0, 2), (1, 4), (2, 8).
    np.testing.assert_allclose(slope[:, 0], [0.0, 1.0, 1.5, 3.0])


def test_rolling_slope_matches_polyfit_on_every_row() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 2)).cumsum(axis=0)
    window = 7
    mean, slope = rolling_mean_slope(data, window)
    for row in range(1, len(data)):
        lo = max(0, row - window + 1)
        t = np.arange(lo, row + 1)
        for column in range(2):
            expected_slope = np.polyfit(t, data[lo : row + 1, column], 1)[0]
            assert slope[row, column] == pytest.approx(expected_slope, abs=1e-9)
            assert mean[row, column] == pytest.approx(data[lo : row + 1, column].mean(), abs=1e-12)


def test_rolling_slope_is_exact_far_into_a_long_history() -> None:
    # A trend of 0.5 per row, two million rows in: running sums of t² would lose the slope to rounding here.
    t = np.arange(2_000_000, dtype=np.float64)
    _, slope = rolling_mean_slope(0.5 * t + 3.0, window=50)
    assert slope[-1, 0] == pytest.approx(0.5, abs=1e-9)


def test_rolling_window_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        rolling_mean_slope(np.ones(5), window=0)


# units and targets ---------------------------------------------------------------------------------
def test_unit_runs_and_run_to_failure_targets() -> None:
    groups = [7, 7, 7, 2, 2]
    assert unit_runs(groups, 5) == [(0, 3), (3, 5)]
    assert unit_runs(None, 4) == [(0, 4)]
    np.testing.assert_array_equal(run_to_failure_rul(groups, 5), [2, 1, 0, 1, 0])
    np.testing.assert_array_equal(run_to_failure_rul(groups, 5, cap=1.0), [1, 1, 0, 1, 0])
    with pytest.raises(InvalidInput):
        unit_runs([1, 2, 1], 3)  # unit 1 split in two: rows must be sorted by unit
    with pytest.raises(InvalidInput):
        unit_runs([1, 1], 3)


# degradation features --------------------------------------------------------------------------------
def test_features_drop_constant_sensors_and_standardise() -> None:
    history = np.column_stack([np.arange(10.0), np.full(10, 5.0), [1.0] * 9 + [2.0]])
    features = DegradationFeatures(window=3).fit(history, names=["rising", "flat", "mostly_flat"])
    # 'flat' reads one value in every row: dropped. 'mostly_flat' in 90 % of rows: kept, below the default 95 %.
    assert features.feature_names_ == [
        "rising",
        "mostly_flat",
        "rising_mean3",
        "mostly_flat_mean3",
        "rising_slope3",
        "mostly_flat_slope3",
        "age",
    ]
    X = features.transform(history)
    rising = (np.arange(10.0) - 4.5) / np.arange(10.0).std()
    np.testing.assert_allclose(X[:, 0], rising)
    np.testing.assert_allclose(X[2:, 4], rising[1] - rising[0])  # a straight line: constant slope per cycle
    np.testing.assert_array_equal(X[:, -1], np.arange(1, 11))
    strict = DegradationFeatures(window=3, constant_share=0.9).fit(history)
    assert list(strict.kept_) == [0]


def test_features_restart_for_each_unit() -> None:
    history = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    features = DegradationFeatures(window=3).fit(history, groups=[1, 1, 1, 2, 2])
    X = features.transform(history, groups=[1, 1, 1, 2, 2])
    # Unit 2's first row: its own reading as the mean, no slope, age 1 (nothing of unit 1 leaks in).
    assert X[3, 1] == pytest.approx(X[3, 0])
    assert X[3, 2] == 0.0
    np.testing.assert_array_equal(X[:, -1], [1, 2, 3, 1, 2])


def test_transform_last_equals_last_row_of_transform() -> None:
    readings, units, _ = synthetic_fleet(3, seed=1)
    features = DegradationFeatures(window=20).fit(readings, units)
    one = readings[units == 2]
    np.testing.assert_allclose(features.transform_last(one), features.transform(one)[-1:], atol=1e-12)
    short = one[:5]  # younger than one window
    np.testing.assert_allclose(features.transform_last(short), features.transform(short)[-1:], atol=1e-12)


def test_features_normalise_per_operating_condition() -> None:
    rng = np.random.default_rng(5)
    regime = np.repeat([0, 1], 200)
    rng.shuffle(regime)
    settings = np.column_stack([regime * 35.0 + rng.normal(scale=0.01, size=400), regime * 0.8])
    # The regime moves the sensor by 50 units; the noise within a regime is 1 unit.
    reading = 20.0 + 50.0 * regime + rng.normal(size=400)
    one = DegradationFeatures(window=5, include_age=False).fit(reading.reshape(-1, 1)).transform(reading)
    two = DegradationFeatures(window=5, n_conditions=2, include_age=False)
    X = two.fit(reading.reshape(-1, 1), settings=settings).transform(reading, settings=settings)
    # One global scale: the regime is all the standardised reading shows (about -1 in one, +1 in the other).
    assert np.mean(one[regime == 0, 0]) < -0.9 and np.mean(one[regime == 1, 0]) > 0.9
    # Per regime: standard normal within each, the regime gone.
    for r in (0, 1):
        assert abs(np.mean(X[regime == r, 0])) < 1e-9
        assert np.std(X[regime == r, 0]) == pytest.approx(1.0)
    with pytest.raises(InvalidInput):
        two.transform(reading)  # settings are needed to tell the regime


def test_features_refuse_bad_use() -> None:
    with pytest.raises(NotFittedError):
        DegradationFeatures().transform(np.ones((3, 2)))
    with pytest.raises(InvalidInput):
        DegradationFeatures(window=0).fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(InvalidInput):
        DegradationFeatures().fit(np.ones((4, 2)))  # nothing but constants
    fitted = DegradationFeatures().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(InvalidInput):
        fitted.transform(np.ones((3, 3)))
    with pytest.raises(InvalidInput):
        fitted.transform([[1.0, np.nan]])
    assert fitted.clone().get_params() == fitted.get_params() and not hasattr(fitted.clone(), "kept_")


# PHM08 score -------------------------------------------------------------------------------------------
def test_phm08_score_by_hand() -> None:
    # d = -13 (early: e^1 - 1), +10 (late: e^1 - 1), 0 (nothing).
    assert phm08_score([50, 50, 50], [37, 60, 50]) == pytest.approx(2 * (math.e - 1))
    # Late costs more than early by the same margin.
    assert phm08_score([50], [70]) == pytest.approx(math.exp(2) - 1)
    assert phm08_score([50], [30]) == pytest.approx(math.exp(20 / 13) - 1)
    assert phm08_score([50], [70]) > phm08_score([50], [30])
    with pytest.raises(InvalidInput):
        phm08_score([1, 2], [1])


# a synthetic fleet ------------------------------------------------------------------------------------
def test_rul_model_learns_synthetic_degradation() -> None:
    """Train on run-to-failure units; predict at random cut points of unseen units, far better than age alone."""
    cap = 125.0
    readings, units, lives = synthetic_fleet(40, seed=11)
    features = DegradationFeatures(window=15)
    X = features.fit_transform(readings, units)
    model = GradientBoostingRUL(max_iter=150).fit(X, run_to_failure_rul(units, len(units), cap))

    test_readings, test_units, test_lives = synthetic_fleet(30, seed=12)
    rng = np.random.default_rng(13)
    preds, truth, naive = [], [], []
    for unit, life in enumerate(test_lives, start=1):
        cut = int(rng.integers(30, life))
        history = test_readings[test_units == unit][:cut]
        preds.append(model.predict(features.transform_last(history))[0])
        truth.append(min(life - cut, cap))
        naive.append(np.clip(lives.mean() - cut, 0, cap))
    rmse = float(np.sqrt(np.mean((np.array(preds) - truth) ** 2)))
    naive_rmse = float(np.sqrt(np.mean((np.array(naive) - truth) ** 2)))
    assert rmse < 0.5 * naive_rmse, (rmse, naive_rmse)
    assert rmse < 20.0


def test_ridge_online_reaches_the_batch_solution() -> None:
    readings, units, _ = synthetic_fleet(4, seed=2)
    X = DegradationFeatures(window=10).fit_transform(readings, units)
    y = run_to_failure_rul(units, len(units), cap=125.0)
    online = RidgeRUL()
    for row, target in zip(X, y, strict=True):
        online.learn_one(row, float(target))
    batch = RidgeRUL().fit(X, y)
    np.testing.assert_allclose(online.coef_, batch.coef_, rtol=1e-6, atol=1e-6)
    assert np.all((batch.predict(X) >= 0) & (batch.predict(X) <= 125))
