"""The CSTR against what can be worked out by hand: steady states, the no-reaction limit, ignition, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from futago.sim.models.cstr import CSTR

Q = 100.0 / 60.0  # L/s, the textbook 100 L/min


def _rows(n: int, caf: float = 1.0, tf: float = 350.0, tc: float = 300.0, q: float = Q) -> np.ndarray:
    return np.tile([caf, tf, tc, q], (n, 1)).astype(np.float64)


def test_default_state_is_the_cold_steady_state() -> None:
    model = CSTR()
    states = model.states(_rows(30))
    np.testing.assert_allclose(states[-1], model.initial_state(), atol=1e-2)  # defaults are rounded
    # Both balances close at that state (the ODE right-hand sides vanish).
    ca, temp = states[-1]
    k = model.rate_constant(temp)
    assert abs(Q / 100.0 * (1.0 - ca) - k * ca) < 1e-6
    rho_cp = 1000.0 * 0.239
    energy = Q / 100.0 * (350.0 - temp) + 5e4 / rho_cp * k * ca + model.ua / (100.0 * rho_cp) * (300.0 - temp)
    assert abs(energy) < 1e-4


def test_textbook_rate_constant_and_operating_point() -> None:
    model = CSTR()
    # Seborg's k0 = 7.2e10 /min with E/R = 8750 K: k(350 K) = 7.2e10·e^-25 ≈ 1.0 /min.
    assert model.k0 == pytest.approx(7.2e10 / 60.0)
    assert model.rate_constant(350.0) * 60.0 == pytest.approx(7.2e10 * math.exp(-25.0))
    # The textbook point Ca = 0.5, T = 350 balances (it is the unstable middle steady state).
    k = model.rate_constant(350.0)
    assert pytest.approx(k * 0.5, rel=1e-3) == Q / 100.0 * (1.0 - 0.5)


def test_without_reaction_the_balances_have_the_analytic_solution() -> None:
    """k → 0: Ca relaxes to Caf with time constant V/q, T to the feed/coolant mix with rate q/V + UA/(Vρcp)."""
    model = CSTR(k_ref=1e-30, initial_concentration=0.2, initial_temperature=330.0)
    n, dt = 20, model.dt_s
    states = model.states(_rows(n, caf=1.0, tf=350.0, tc=300.0))
    t = dt * np.arange(1, n + 1)
    ca = 1.0 + (0.2 - 1.0) * np.exp(-Q / 100.0 * t)
    cool = model.ua / (100.0 * 1000.0 * 0.239)
    rate = Q / 100.0 + cool
    t_inf = (Q / 100.0 * 350.0 + cool * 300.0) / rate
    temp = t_inf + (330.0 - t_inf) * np.exp(-rate * t)
    np.testing.assert_allclose(states[:, 0], ca, rtol=1e-6)
    np.testing.assert_allclose(states[:, 1], temp, rtol=1e-7)


def test_a_few_kelvin_on_the_coolant_ignite_the_reactor() -> None:
    model = CSTR()
    warm = model.predict(_rows(60, tc=303.0))
    hot = model.predict(_rows(60, tc=306.0))
    assert warm.max() < 340.0  # still on the cold branch
    assert hot.max() > 380.0  # ignited: the upper branch


def test_predict_leaves_the_state_and_streaming_advances_it() -> None:
    model = CSTR()
    X = _rows(8, tc=298.0)
    first = model.predict(X)
    np.testing.assert_array_equal(model.predict(X), first)
    streamed = [model.predict_one(row) for row in X]
    np.testing.assert_allclose(streamed, first, rtol=1e-10)
    assert model.state[1] == pytest.approx(first[-1])


def test_learn_one_nudges_the_temperature_towards_the_measurement() -> None:
    model = CSTR(assimilation_gain=0.5)
    row = _rows(1)[0]
    predicted = CSTR().predict_one(row)
    model.learn_one(row, predicted + 4.0)
    assert model.state[1] == pytest.approx(predicted + 2.0, abs=1e-6)


def test_calibration_recovers_fouled_heat_transfer_and_kinetics() -> None:
    rng = np.random.default_rng(5)
    n = 24  # four 6-minute holds of feed and coolant, staying on the cold branch
    X = _rows(n)
    X[:, 0] = np.repeat(rng.uniform(0.85, 1.05, 4), 6)
    X[:, 1] = np.repeat(rng.uniform(345.0, 352.0, 4), 6)
    X[:, 2] = np.repeat(rng.uniform(294.0, 299.0, 4), 6)
    true = CSTR(ua=650.0, k_ref=0.012)
    y = true.predict(X) + rng.normal(0.0, 0.05, n)
    model = CSTR().fit(X, y)
    result = model.calibration_
    assert result.rmse < 0.08 < result.rmse_before
    assert model.ua == pytest.approx(650.0, rel=0.03)
    assert model.k_ref == pytest.approx(0.012, rel=0.05)
    low, high = result.ci95["ua"]
    assert low < 650.0 < high
