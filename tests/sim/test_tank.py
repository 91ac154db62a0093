"""The Sugawara tank model, the rating curve, calibration, ensembles and warning-level probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from futago.core.errors import InvalidInput
from futago.sim.calibration import calibrate
from futago.sim.ensemble import Uncertainty, run_ensemble
from futago.sim.flood import WarningLevels, forecast_stage
from futago.sim.models.tank import RatingCurve, RiverStageModel, TankModel


def _storm(steps: int = 720, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rain = np.zeros((steps, 1))
    for start in (60, 300, 520):
        rain[start : start + 36, 0] = rng.gamma(2.0, 6.0, 36)
    return rain


def test_mass_balance_rain_is_stored_or_discharged() -> None:
    model = TankModel(catchment_km2=10.0, dt_s=600.0)
    rain = _storm()
    flow, final = model.run(rain, model.initial_state())
    rain_mm = rain[:, 0].sum() * 600 / 3600
    out_mm = flow.sum() * 600 / (10.0 * 1e6) * 1000
    stored = final.sum() - model.initial_state().sum()
    assert rain_mm + 0 == pytest.approx(out_mm + stored, rel=1e-9)
    assert (final >= 0).all()


def test_discharge_rises_after_rain_and_recedes() -> None:
    rain = np.zeros((400, 1))
    rain[10:40] = 20.0
    flow = TankModel().predict(rain)
    peak = int(np.argmax(flow))
    assert 10 < peak < 120
    assert flow[peak] > 5 * flow[0]
    assert flow[-1] < 0.5 * flow[peak]


def test_stage_follows_the_rating_curve() -> None:
    rain = _storm()
    model = RiverStageModel()
    level = model.predict(rain)
    flow = TankModel().predict(rain)
    np.testing.assert_allclose(level, RatingCurve().level(flow))
    assert RatingCurve().discharge(RatingCurve().level(123.0)) == pytest.approx(123.0)


def test_rating_curve_is_fitted_from_gaugings() -> None:
    truth = RatingCurve(a=42.0, b=1.7, h0=0.35)
    levels = np.linspace(0.6, 5.0, 40)
    rng = np.random.default_rng(0)
    flows = truth.discharge(levels) * rng.lognormal(0, 0.02, levels.size)
    fitted = RatingCurve.fit(levels, flows)
    assert fitted.b == pytest.approx(1.7, abs=0.1)
    assert fitted.h0 == pytest.approx(0.35, abs=0.1)
    assert fitted.level(200.0) == pytest.approx(truth.level(200.0), rel=0.03)


def test_calibration_recovers_known_parameters_with_uncertainty() -> None:
    rain = _storm()
    truth = RiverStageModel(a11=0.16, a12=0.04, b1=0.11)
    rng = np.random.default_rng(5)
    observed = truth.predict(rain) + rng.normal(0.0, 0.01, len(rain))
    bounds = {"a11": (0.01, 0.5), "a12": (0.005, 0.5), "b1": (0.01, 0.5)}
    result = calibrate(RiverStageModel(), rain, observed, bounds)
    assert result.success
    for name, true in {"a11": 0.16, "a12": 0.04, "b1": 0.11}.items():
        low, high = result.ci95[name]
        assert low <= true <= high, (name, result.params[name], result.ci95[name])
        assert result.stderr[name] < 0.2 * true
    assert result.rmse < 0.015 < result.rmse_before
    assert set(result.to_json()) >= {"params", "stderr", "ci95", "rmse", "n"}


def test_calibration_rejects_bad_bounds() -> None:
    with pytest.raises(InvalidInput) as caught:
        calibrate(TankModel(), _storm(), np.ones(720), {"a11": (0.5, 0.1), "nope": (0, 1)})
    pointers = {p.pointer for p in caught.value.problems}
    assert pointers == {"/bounds/a11", "/bounds/nope"}


def test_ensemble_is_reproducible_and_spreads_with_uncertainty() -> None:
    model = RiverStageModel()
    rain = np.full((36, 1), 15.0)
    a = run_ensemble(model, rain, 2000, Uncertainty({"rainfall": 0.3}), seed=7)
    b = run_ensemble(model, rain, 2000, Uncertainty({"rainfall": 0.3}), seed=7)
    np.testing.assert_array_equal(a.members, b.members)
    narrow = run_ensemble(model, rain, 2000, Uncertainty({"rainfall": 0.05}), seed=7)
    spread = a.members[:, -1].std()
    assert spread > 3 * narrow.members[:, -1].std()
    # With no uncertainty every member is the deterministic run.
    flat = run_ensemble(model, rain, 10, Uncertainty(), seed=1)
    np.testing.assert_allclose(flat.members, np.broadcast_to(model.predict(rain), (10, 36)))


def test_ensemble_chunks_do_not_change_the_answer_shape_or_statistics() -> None:
    model = RiverStageModel()
    rain = np.full((12, 1), 20.0)
    whole = run_ensemble(model, rain, 3000, Uncertainty({"rainfall": 0.3}), seed=3, chunk=3000)
    parts = run_ensemble(model, rain, 3000, Uncertainty({"rainfall": 0.3}), seed=3, chunk=700)
    assert parts.members.shape == whole.members.shape == (3000, 12)
    assert parts.members[:, -1].mean() == pytest.approx(whole.members[:, -1].mean(), rel=0.05)


def test_exceedance_probability_matches_members() -> None:
    model = RiverStageModel()
    levels = WarningLevels.parse({"standby": 1.0, "caution": 2.5, "evacuation": 3.5, "danger": 4.5})
    forecast = forecast_stage(model, np.full(36, 25.0), levels, members=4000, seed=2)
    probabilities = forecast.exceedance
    assert list(probabilities) == ["standby", "caution", "evacuation", "danger"]
    values = list(probabilities.values())
    assert values == sorted(values, reverse=True)
    assert probabilities["standby"] == 1.0
    assert 0.0 < probabilities["danger"] < 1.0
    body = forecast.to_json()
    assert body["members"] == 4000 and len(body["quantiles"]["q50"]) == 36


def test_warning_levels_are_validated() -> None:
    with pytest.raises(InvalidInput) as caught:
        WarningLevels.parse({"caution": 3.0, "danger": 2.0, "bogus": 1.0})
    pointers = {p.pointer for p in caught.value.problems}
    assert "/bogus" in pointers and "/" in pointers
    levels = WarningLevels.from_twin({"cautionLevel": 3.0, "dangerLevel": 4.2})
    assert levels.stage_of(3.5) == "caution" and levels.stage_of(1.0) is None


def test_assimilation_pulls_the_state_towards_measurements() -> None:
    rain = _storm(720)[:400]
    truth = RiverStageModel(a11=0.2, b1=0.05)
    measured = truth.predict(rain)
    free, nudged = RiverStageModel(), RiverStageModel()
    for row, level in zip(rain[:330], measured[:330], strict=True):
        free.predict_one(row)
        nudged.learn_one(row, float(level))
    # Assimilation helps the next hours, where the starting state matters most.
    err_free = np.abs(free.predict(rain[330:342]) - measured[330:342]).mean()
    err_nudged = np.abs(nudged.predict(rain[330:342]) - measured[330:342]).mean()
    assert err_nudged < 0.7 * err_free


def test_bench_ensemble_prints_its_figures() -> None:
    from click.testing import CliRunner

    from futago.cli import main

    result = CliRunner().invoke(main, ["bench", "ensemble", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["members"] == 100_000 and figures["steps"] == 36
    assert figures["seconds"] > 0  # timings are reported, never asserted
    probabilities = figures["exceedance_probabilities"]
    assert list(probabilities) == ["standby", "caution", "evacuation", "danger"]
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert list(probabilities.values()) == sorted(probabilities.values(), reverse=True)


def test_ensembles_run_any_simulator_member_by_member() -> None:
    from futago.sim.models.thermal import ThermalZone

    zone = ThermalZone()
    weather = np.column_stack([np.linspace(-2, 8, 24), np.full(24, 300.0), np.full(24, 400.0)])
    flat = run_ensemble(zone, weather, 5, Uncertainty(), seed=0)
    np.testing.assert_allclose(flat.members, np.broadcast_to(zone.predict(weather), (5, 24)))
    spread = run_ensemble(zone, weather, 30, Uncertainty(inputs={"internal_gains": 0.5}), seed=0)
    assert spread.members.shape == (30, 24)
    assert spread.members[:, -1].std() > 0


def test_ensemble_chunks_give_the_same_answer_however_they_are_mapped() -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = RiverStageModel()
    rain = np.full((12, 1), 18.0)
    spread = Uncertainty({"rainfall": 0.3}, {"a11": 0.2})
    serial = run_ensemble(model, rain, 2500, spread, seed=5, chunk=600)
    with ThreadPoolExecutor(2) as pool:
        parallel = run_ensemble(model, rain, 2500, spread, seed=5, chunk=600, mapper=pool.map)
    np.testing.assert_array_equal(serial.members, parallel.members)
