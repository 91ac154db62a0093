"""The 5R1C zone: energy balance sanity, steady state against the hand-computed conductance, ideal loads,
and calibration of known parameters from noisy synthetic data with the base class ``fit``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from futago.sim.models.thermal import ThermalZone

FREE: dict[str, Any] = dict(heating_setpoint=-50.0, cooling_setpoint=60.0)  # setpoints out of reach: free-floating


def _constant(n: int, outdoor: float, solar: float = 0.0, internal: float = 0.0) -> np.ndarray:
    return np.tile([outdoor, solar, internal], (n, 1)).astype(np.float64)


def test_no_gains_and_outdoor_equal_indoor_needs_no_load() -> None:
    zone = ThermalZone(initial_temperature=21.0)
    results = zone.results(_constant(72, 21.0))
    np.testing.assert_allclose(results["load"], 0.0, atol=1e-9)
    for name in ("air_temperature", "surface_temperature", "mass_temperature"):
        np.testing.assert_allclose(results[name], 21.0, atol=1e-9)


def test_steady_heating_load_is_the_hand_computed_conductance_times_the_difference() -> None:
    zone = ThermalZone()
    # Air node to outdoors: ventilation ∥ [surfaces in series with (windows ∥ (surface→mass in series with
    # mass→outdoor))], with the default conductances (W/K).
    h_ve, h_is, h_w, h_ms, h_em = 42.5, 1552.5, 30.0, 2275.0, 120.0
    fabric = 1.0 / (1.0 / h_ms + 1.0 / h_em)
    conductance = h_ve + 1.0 / (1.0 / h_is + 1.0 / (h_w + fabric))
    assert zone.conductance() == pytest.approx(conductance, rel=1e-12)
    results = zone.results(_constant(24 * 60, 0.0))  # 60 days of 0 °C: the mass has settled
    assert results["load"][-1] == pytest.approx(conductance * 20.0, rel=1e-6)
    assert results["air_temperature"][-1] == pytest.approx(20.0, abs=1e-9)


def test_cooling_holds_the_upper_setpoint_and_capacity_caps_the_load() -> None:
    hot = _constant(48, 34.0, solar=2000.0, internal=500.0)
    zone = ThermalZone()
    results = zone.results(hot)
    assert (results["load"][6:] < 0).all()
    np.testing.assert_allclose(results["air_temperature"][6:], 26.0, atol=1e-9)
    small = ThermalZone(heating_capacity_w=500.0)
    cold = small.results(_constant(48, -10.0))
    assert cold["load"][-1] == pytest.approx(500.0)
    assert cold["air_temperature"][-1] < 20.0


def test_gains_warm_a_free_floating_zone_and_load_output_reports_the_load() -> None:
    quiet = ThermalZone(**FREE).predict(_constant(24, 10.0))
    sunny = ThermalZone(**FREE).predict(_constant(24, 10.0, solar=1500.0, internal=400.0))
    assert (sunny > quiet).all()
    X = _constant(24, 0.0)
    np.testing.assert_allclose(ThermalZone(output="load").predict(X), ThermalZone().results(X)["load"])


def test_streaming_matches_batch_and_learn_one_corrects_the_mass() -> None:
    X = _constant(10, 5.0, solar=300.0)
    zone = ThermalZone(**FREE)
    batch = zone.predict(X)
    np.testing.assert_allclose([zone.predict_one(row) for row in X], batch, rtol=1e-12)
    before = float(zone.state[0])
    predicted = ThermalZone(**FREE).set_state(zone.state).predict_one(X[0])
    zone.learn_one(X[0], predicted + 1.0)
    assert float(zone.state[0]) > before  # pulled towards the warmer measurement


def test_calibration_recovers_known_parameters_from_noisy_data() -> None:
    rng = np.random.default_rng(0)
    # Four weeks hourly: a daily cycle, weather fronts (6-hour swings) and hourly noise outdoors, so fast (h_ve)
    # and slow (h_tr_em through c_m) losses are told apart; cloudy and clear sun; occupied 8:00–22:00.
    hours = np.arange(24 * 28)
    fronts = np.repeat(rng.normal(0.0, 3.0, hours.size // 6), 6)
    X = np.column_stack(
        [
            8.0 + 6.0 * np.sin(2 * np.pi * (hours - 9) / 24) + fronts + rng.normal(0.0, 1.0, hours.size),
            np.clip(2000.0 * np.sin(2 * np.pi * (hours - 6) / 24), 0.0, None) * rng.uniform(0.3, 1.0, hours.size),
            np.where((hours % 24 > 7) & (hours % 24 < 22), 700.0, 300.0),
        ]
    )
    true: dict[str, Any] = dict(h_tr_em=200.0, h_ve=60.0, c_m=3.0e7)
    y = ThermalZone(**true, **FREE, initial_temperature=15.0).predict(X) + rng.normal(0.0, 0.2, hours.size)
    zone = ThermalZone(**FREE, initial_temperature=15.0).fit(X, y)
    result = zone.calibration_
    assert result.success and result.rmse < 0.25 < result.rmse_before
    for name, value in true.items():
        assert getattr(zone, name) == pytest.approx(value, rel=0.05), name
        # The linearised uncertainty is honest: the truth lies within three standard errors.
        assert abs(getattr(zone, name) - value) < 3.0 * result.stderr[name], name
