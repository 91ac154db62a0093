"""Forecasters, conformal intervals and backtests on synthetic series whose right answer is known."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from futago.analytics import metrics
from futago.analytics.forecast import (
    BoostingForecaster,
    ConformalForecaster,
    ETSForecaster,
    FitWarning,
    SARIMAForecaster,
    SeasonalNaive,
    TimeAxis,
    backtest,
    calendar_features,
    compare,
    ranking,
    rolling_origins,
)
from futago.core.errors import InvalidInput


def _empty(n: int) -> np.ndarray:
    return np.empty((n, 0))


def _seasonal(n: int, *, period: int = 12, noise: float = 1.0, ar: float = 0.0, seed: int = 0) -> np.ndarray:
    """Level 20, a sine season of amplitude 4, and AR(1) noise: stationary, so conformal coverage applies."""
    rng = np.random.default_rng(seed)
    errors = np.zeros(n)
    for i in range(1, n):
        errors[i] = ar * errors[i - 1] + rng.normal(0.0, noise)
    t = np.arange(n)
    return 20.0 + 4.0 * np.sin(2 * np.pi * t / period) + errors


# --- seasonal naive and the forecast cursor ----------------------------------------------------------
def test_seasonal_naive_by_hand() -> None:
    model = SeasonalNaive(period=4).fit(_empty(8), np.arange(1.0, 9.0))
    np.testing.assert_array_equal(model.predict(_empty(6)), [5, 6, 7, 8, 5, 6])
    # residuals y[t] - y[t-4] are all 4, so sigma = 4 and the width grows with whole seasons ahead
    lower, upper = model.predict_interval(_empty(6), alpha=0.1)
    half = (upper - lower) / 2
    np.testing.assert_allclose(half / half[0], [1, 1, 1, 1, np.sqrt(2), np.sqrt(2)])
    assert half[0] == pytest.approx(1.6448536 * 4.0, rel=1e-6)


def test_predict_one_walks_forward_and_learn_one_fills_in_the_truth() -> None:
    model = SeasonalNaive(period=2).fit(_empty(4), [1.0, 2.0, 3.0, 4.0])
    assert model.predict_one([]) == 3.0  # step 5
    assert model.predict_one([]) == 4.0  # step 6
    model.learn_one([], 30.0)  # step 5 observed; step 6 was already forecast
    assert model.predict_one([]) == 30.0  # step 7 = step 5 one season later
    np.testing.assert_array_equal(model.predict(_empty(2)), [4.0, 30.0])  # predict is always from the end


# --- ETS ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"trend": "add", "damped": True},
        {"seasonal": "add", "period": 12},
        {"trend": "add", "seasonal": "mul", "period": 12},
    ],
    ids=["damped", "seasonal", "mul"],
)
def test_ets_replays_statsmodels(params: dict[str, object]) -> None:
    """The futago recursion continues exactly where statsmodels' Holt–Winters leaves off.

    Step ``period`` is left out on purpose: statsmodels 0.14/0.15 forecasts it with the seasonal index from
    before the last update (an off-by-one in ``HoltWintersResults._predict``; steps 1..m-1 and m+1.. agree).
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = _seasonal(96, noise=0.5, seed=1) + 0.05 * np.arange(96)
    model = ETSForecaster(**params).fit(_empty(96), y)  # type: ignore[arg-type]
    reference = ExponentialSmoothing(
        y,
        trend=params.get("trend"),
        damped_trend=bool(params.get("damped", False)),
        seasonal=params.get("seasonal"),
        seasonal_periods=params.get("period"),
        initialization_method="estimated",
    ).fit()
    keep = np.arange(18) != 11
    np.testing.assert_allclose(model.predict(_empty(18))[keep], reference.forecast(18)[keep], rtol=1e-8)


def test_ets_learn_one_equals_a_known_parameter_replay() -> None:
    """Streaming updates only the state: the result equals statsmodels run with the same fixed parameters."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = _seasonal(84, noise=0.5, seed=2)
    model = ETSForecaster(trend="add", seasonal="add", period=12).fit(_empty(60), y[:60])
    fixed = dict(model.params_)
    for value in y[60:]:
        model.learn_one([], float(value))
    assert model.n_obs_ == 84 and model.params_ == fixed
    estimate = ExponentialSmoothing(
        y[:60], trend="add", seasonal="add", seasonal_periods=12, initialization_method="estimated"
    ).fit()
    replay = ExponentialSmoothing(
        y,
        trend="add",
        seasonal="add",
        seasonal_periods=12,
        initialization_method="known",
        initial_level=estimate.params["initial_level"],
        initial_trend=estimate.params["initial_trend"],
        initial_seasonal=estimate.params["initial_seasons"],
    ).fit(
        smoothing_level=fixed["alpha"],
        smoothing_trend=fixed["beta"],
        smoothing_seasonal=fixed["gamma"],
        optimized=False,
    )
    np.testing.assert_allclose(model.predict(_empty(11)), replay.forecast(11), rtol=1e-8)


def test_ets_intervals_widen_with_the_horizon() -> None:
    y = _seasonal(120, noise=0.5, seed=3) + 0.05 * np.arange(120)
    model = ETSForecaster(trend="add", seasonal="add", period=12).fit(_empty(120), y)
    lower, upper = model.predict_interval(_empty(12), alpha=0.2)
    width = upper - lower
    assert (width > 0).all() and width[-1] >= width[0]
    with pytest.raises(InvalidInput):
        model.predict_interval(_empty(3), alpha=1.5)
    with pytest.raises(InvalidInput):
        ETSForecaster(seasonal="mul", period=12).fit(_empty(120), y - 100)


# --- SARIMA -------------------------------------------------------------------------------------------
def test_sarima_learns_the_exogenous_effect_and_extends_like_a_full_filter() -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(4)
    n = 150
    x = rng.normal(size=(n + 5, 1))
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0.0, 0.3)
    y = 5.0 + 0.02 * np.arange(n) + 2.0 * x[:n, 0] + noise
    model = SARIMAForecaster(order=(1, 0, 0), trend="ct").fit(x[:120], y[:120])
    assert model.params_["x1"] == pytest.approx(2.0, abs=0.1)
    for t in range(120, n):
        model.learn_one(x[t], float(y[t]))
    full = SARIMAX(y, exog=x[:n], order=(1, 0, 0), trend="ct").smooth(model.results_.params)
    np.testing.assert_allclose(model.predict(x[n:]), full.forecast(5, exog=x[n:]), rtol=1e-8)
    lower, upper = model.predict_interval(x[n:], alpha=0.1)
    assert (lower < model.predict(x[n:])).all() and (upper > model.predict(x[n:])).all()


def test_sarima_reports_non_convergence_once_and_keeps_the_details() -> None:
    y = _seasonal(80, noise=0.5, ar=0.5, seed=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SARIMAForecaster(order=(2, 0, 1), maxiter=2).fit(_empty(80), y)
    names = [w.category.__name__ for w in caught]
    assert names == ["FitWarning"], names
    assert issubclass(caught[0].category, FitWarning)
    assert any("ConvergenceWarning" in m for m in model.fit_warnings_)


# --- boosting and the time axis ------------------------------------------------------------------------
def test_calendar_features_by_hand() -> None:
    table = calendar_features(["2024-01-01T00:00", "2024-03-01T13:30", "2023-12-31T23:00"])
    np.testing.assert_allclose(table[0], [0.0, 0, 1, 1])  # a Monday
    np.testing.assert_allclose(table[1], [13.5, 4, 61, 3])  # a Friday; 2024 is a leap year
    np.testing.assert_allclose(table[2], [23.0, 6, 365, 12])


def test_time_axis_needs_regular_steps() -> None:
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(4) * np.timedelta64(15, "m")
    axis = TimeAxis.from_timestamps(stamps, 4)
    assert axis.at([5])[0] == np.datetime64("2024-01-01T01:15")
    with pytest.raises(InvalidInput):
        TimeAxis.from_timestamps(stamps[[0, 1, 3]], 3)
    with pytest.raises(InvalidInput):
        TimeAxis.from_timestamps(stamps, 5)
    model = SeasonalNaive(period=2).fit(_empty(4), [1.0, 2.0, 3.0, 4.0], timestamps=stamps)
    assert model.future_timestamps(2)[-1] == np.datetime64("2024-01-01T01:15")


def _weekly_hourly(weeks: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Hourly demand with a daily cycle and a weekend drop, starting on a Monday."""
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(24 * 7 * weeks) * np.timedelta64(1, "h")
    calendar = calendar_features(stamps)
    rng = np.random.default_rng(seed)
    y = 10 + 3 * np.sin(2 * np.pi * calendar[:, 0] / 24) - 5.0 * (calendar[:, 1] >= 5) + rng.normal(0, 0.3, len(stamps))
    return stamps, y


def test_boosting_uses_the_calendar_when_given_timestamps() -> None:
    """A weekend drop is invisible to lags and a daily period, and obvious to a weekday feature."""
    stamps, y = _weekly_hourly(4)
    train, week = 24 * 7 * 3, 24 * 7
    with_calendar = BoostingForecaster(lags=2, period=24, max_iter=60).fit(
        _empty(train), y[:train], timestamps=stamps[:train]
    )
    without = BoostingForecaster(lags=2, period=24, max_iter=60).fit(_empty(train), y[:train])
    error_with = metrics.rmse(y[train:], with_calendar.predict(_empty(week)))
    error_without = metrics.rmse(y[train:], without.predict(_empty(week)))
    assert error_with < 0.8 < 2.0 < error_without


def test_boosting_direct_continues_past_its_horizon_and_refits_lazily() -> None:
    y = _seasonal(200, noise=0.3, seed=6)
    model = BoostingForecaster(lags=2, period=12, strategy="direct", horizon=4, max_iter=20, refit_every=3)
    model.fit(_empty(180), y[:180])
    assert len(model.models_) == 4
    forecast = model.predict(_empty(10))
    assert forecast.shape == (10,) and metrics.rmse(y[180:190], forecast) < 1.5
    trees = model.models_
    model.learn_one([], float(y[180]))
    model.learn_one([], float(y[181]))
    model.predict(_empty(2))
    assert model.models_ is trees  # 2 new observations < refit_every
    model.learn_one([], float(y[182]))
    model.predict(_empty(2))
    assert model.models_ is not trees
    with pytest.raises(NotImplementedError, match="ConformalForecaster"):
        model.predict_interval(_empty(2))


# --- conformal -----------------------------------------------------------------------------------------
def test_conformal_coverage_on_held_out_data_is_near_nominal() -> None:
    """Calibrate on 500 rolling origins, then walk 2000 held-out steps: 90 % intervals cover about 90 %."""
    y = _seasonal(2800, ar=0.6, seed=5)
    model = ConformalForecaster(ETSForecaster(seasonal="add", period=12), horizon=6, n_windows=500)
    model.fit(_empty(800), y[:800])
    widths = model.quantiles(0.1)
    assert widths[-1] > widths[0]  # AR errors: the further ahead, the wider
    hits = []
    for origin in range(800, 2800 - 6):
        lower, upper = model.predict_interval(_empty(6), alpha=0.1)
        hits.append((y[origin : origin + 6] >= lower) & (y[origin : origin + 6] <= upper))
        model.learn_one([], float(y[origin]))
    coverage = np.asarray(hits)
    assert abs(coverage.mean() - 0.9) < 0.03
    assert np.all(np.abs(coverage.mean(axis=0) - 0.9) < 0.05)


def test_conformal_refit_path_matches_streaming_for_an_exact_streamer() -> None:
    y = _seasonal(200, seed=7)
    streaming = ConformalForecaster(SeasonalNaive(period=12), horizon=3, n_windows=30).fit(_empty(200), y)
    refitted = ConformalForecaster(SeasonalNaive(period=12), horizon=3, n_windows=30, refit=True).fit(_empty(200), y)
    np.testing.assert_allclose(streaming.errors_, refitted.errors_)
    np.testing.assert_allclose(streaming.predict(_empty(3)), refitted.predict(_empty(3)))
    with pytest.raises(InvalidInput):
        streaming.predict_interval(_empty(4))  # calibrated for 3 steps
    with pytest.raises(InvalidInput):
        streaming.quantiles(alpha=0.01)  # 30 windows cannot give a 99 % quantile
    not_streaming = ConformalForecaster(SeasonalNaive(period=12), horizon=3, n_windows=30)
    with pytest.raises(InvalidInput):
        ConformalForecaster(not_streaming, refit=False).fit(_empty(200), y)


# --- backtest ------------------------------------------------------------------------------------------
def test_rolling_origins() -> None:
    np.testing.assert_array_equal(rolling_origins(20, initial=10, horizon=3, step=4), [10, 14])
    with pytest.raises(InvalidInput):
        rolling_origins(10, initial=9, horizon=3)


def test_backtest_ets_beats_naive_on_noisy_stable_season() -> None:
    """Seasonal naive copies last season's noise (error variance 2σ²); ETS averages seasons out (≈σ²)."""
    y = _seasonal(240, noise=1.5, seed=8)
    results = compare(
        {"naive": SeasonalNaive(period=12), "ets": ETSForecaster(seasonal="add", period=12)},
        y,
        initial=144,
        horizon=12,
        step=12,
    )
    np.testing.assert_array_equal(results["naive"].origins, results["ets"].origins)
    assert list(results["naive"].origins) == [144, 156, 168, 180, 192, 204, 216, 228]
    assert ranking(results)[0][0] == "ets"
    assert results["ets"].aggregate["rmse"] < 0.85 * results["naive"].aggregate["rmse"]
    for result in results.values():
        assert result.per_horizon["rmse"].shape == (12,) and result.per_origin["mae"].shape == (8,)
        assert set(result.aggregate) == {"rmse", "mae", "mape", "r2", "pearson_r", "nse", "kge"}


def test_backtest_boosting_beats_naive_when_inputs_drive_the_series() -> None:
    """A non-linear effect of a known input: the naive baseline cannot see it, boosting can."""
    rng = np.random.default_rng(9)
    n = 300
    x = rng.uniform(-2, 2, size=(n, 1))
    y = 10 + 2 * np.sin(2 * np.pi * np.arange(n) / 24) + 3 * np.tanh(3 * x[:, 0]) + rng.normal(0, 0.2, n)
    results = compare(
        {"naive": SeasonalNaive(period=24), "boosting": BoostingForecaster(lags=1, period=24, max_iter=60)},
        y,
        x,
        initial=200,
        horizon=24,
        step=24,
    )
    np.testing.assert_array_equal(results["naive"].origins, results["boosting"].origins)
    assert ranking(results, "nse")[0][0] == "boosting"
    assert results["boosting"].aggregate["rmse"] < 0.5 * results["naive"].aggregate["rmse"]


def test_backtest_without_refit_and_with_intervals() -> None:
    y = _seasonal(150, seed=10)
    refit = backtest(SeasonalNaive(period=12), y, initial=100, horizon=6, step=5, alpha=0.2)
    streamed = backtest(SeasonalNaive(period=12), y, initial=100, horizon=6, step=5, alpha=0.2, refit=False)
    np.testing.assert_allclose(refit.y_pred, streamed.y_pred)  # seasonal naive streams exactly
    assert refit.per_horizon["coverage"].shape == (6,) and 0.0 <= refit.aggregate["coverage"] <= 1.0
    assert refit.to_dict()["origins"][0] == 100
    with pytest.raises(InvalidInput):
        backtest(ConformalForecaster(SeasonalNaive(12)), y, initial=100, horizon=6, refit=False)
