"""FMI co-simulation through ``FmuSimulator``, on FMUs the tests build themselves.

A first-order lag written as a ``pythonfmu.Fmi2Slave`` (``fmus/lag.py``) is built three ways: FMI 2.0 without
FMU-state support (the simulator replays inputs), FMI 2.0 with serialisable FMU state (the simulator saves and
restores it), and FMI 3.0 (FMPy's container FMU around the FMI 2.0 lag). Each runs through FMPy in this process
and is compared with the analytic response of a lag to steps, y(t) = K Σ Δu_j (1 − exp(−(t − t_j)/τ)).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from futago.core.errors import InvalidInput
from futago.sim.models.fmu import FmuSimulator

pytest.importorskip("pythonfmu", reason="the test FMUs are built with pythonfmu (a test dependency)")
pytest.importorskip("fmpy", reason="FmuSimulator runs FMUs with FMPy")

from tests.sim.fmus import build_lag, build_lag_fmi3

TAU, GAIN, STEP = 5.0, 1.5, 0.5
# u = 2 for 10 s, then −1 for 10 s: two steps, at t = 0 (Δu = 2) and t = 10 s (Δu = −3).
U = np.r_[np.full(20, 2.0), np.full(20, -1.0)][:, None]
T = STEP * np.arange(1, 41)
EXACT = GAIN * (2.0 * (1 - np.exp(-T / TAU)) - 3.0 * (1 - np.exp(-(T - 10.0) / TAU)) * (T > 10.0))


@pytest.fixture(scope="module")
def fmus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fmus")
    fmi2 = build_lag(folder)
    return {"fmi2": fmi2, "fmi2-state": build_lag(folder, serialisable=True), "fmi3": build_lag_fmi3(fmi2, folder)}


def _lag(path: Path, **params: object) -> FmuSimulator:
    defaults: dict[str, object] = {"inputs": ["u"], "start_values": {"tau": TAU, "gain": GAIN}, "step_size": STEP}
    return FmuSimulator(str(path), output="y", **{**defaults, **params})  # type: ignore[arg-type]


def test_the_fmus_are_what_they_claim(fmus: dict[str, Path]) -> None:
    from fmpy import read_model_description

    versions = {kind: read_model_description(str(path)) for kind, path in fmus.items()}
    assert versions["fmi2"].fmiVersion == "2.0" and not versions["fmi2"].coSimulation.canSerializeFMUstate
    assert versions["fmi2-state"].coSimulation.canSerializeFMUstate
    assert versions["fmi3"].fmiVersion == "3.0"


@pytest.mark.parametrize("kind", ["fmi2", "fmi2-state", "fmi3"])
def test_step_response_matches_the_analytic_solution(fmus: dict[str, Path], kind: str) -> None:
    model = _lag(fmus[kind])
    np.testing.assert_allclose(model.predict(U), EXACT, atol=1e-12)


@pytest.mark.parametrize("kind", ["fmi2", "fmi2-state", "fmi3"])
def test_streaming_batch_and_pickling_agree(fmus: dict[str, Path], kind: str) -> None:
    model = _lag(fmus[kind])
    batch = model.predict(U)
    np.testing.assert_array_equal(model.predict(U), batch)  # predict leaves the state alone
    streamed = [model.predict_one(row) for row in U[:25]]
    np.testing.assert_allclose(streamed, batch[:25], atol=1e-12)
    # A pickled twin (no native instance travels) continues from the same state, as does the original.
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(U[25:]), EXACT[25:], atol=1e-12)
    np.testing.assert_allclose([model.predict_one(row) for row in U[25:]], EXACT[25:], atol=1e-12)
    # A what-if from an earlier state, then back to the live one.
    live = model.state
    np.testing.assert_allclose(model.set_state(model.initial_state()).predict(U[:5]), EXACT[:5], atol=1e-12)
    model.set_state(live)
    model.learn_one(U[-1], 123.0)  # steps on; an FMU's state is opaque, so the measurement corrects nothing
    assert model.steps_ == 1 and model.state[0] == pytest.approx(T[-1] + STEP)


def test_state_is_bounded_when_the_fmu_can_serialise_it(fmus: dict[str, Path]) -> None:
    replay, saved = _lag(fmus["fmi2"]), _lag(fmus["fmi2-state"])
    for row in U:
        replay.predict_one(row)
        saved.predict_one(row)
    assert replay.state.shape == (1 + len(U),)  # time + every input row so far
    assert saved.state.shape[0] < 200 and saved.state[0] == pytest.approx(T[-1])


def test_an_fmu_without_inputs_replays_from_its_time(fmus: dict[str, Path]) -> None:
    """No input columns (u fixed by a start value): the replay state is just the time, which counts the steps."""
    model = _lag(fmus["fmi2"], inputs=[], start_values={"tau": TAU, "gain": GAIN, "u": 2.0})
    free = GAIN * 2.0 * (1 - np.exp(-T[:20] / TAU))
    for expected in free[:8]:
        assert model.predict_one(np.empty(0)) == pytest.approx(expected, abs=1e-12)
    assert model.state.shape == (1,)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(np.empty((12, 0))), free[8:], atol=1e-12)


@pytest.mark.parametrize("kind", ["fmi2", "fmi3"])
def test_fit_calibrates_a_tunable_parameter(fmus: dict[str, Path], kind: str) -> None:
    rng = np.random.default_rng(4)
    y = _lag(fmus[kind], start_values={"tau": 7.0, "gain": GAIN}).predict(U) + rng.normal(0.0, 0.01, len(U))
    model = _lag(fmus[kind], start_values={"gain": GAIN}, tunable={"tau": (0.5, 50.0)}).fit(U, y)
    assert model.start_values is not None and model.start_values["tau"] == pytest.approx(7.0, rel=0.02)
    assert model.start_values["gain"] == GAIN
    assert model.calibration_.rmse < 0.015


def test_bad_configuration_is_reported(fmus: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no Real/Float64 variable 'nope'"):
        FmuSimulator(str(fmus["fmi2"]), ["nope"], "y").predict(U)
    with pytest.raises(InvalidInput, match="cannot read FMU"):
        FmuSimulator(str(tmp_path / "missing.fmu"), ["u"], "y").predict(U)
    with pytest.raises(InvalidInput, match="declares no parameters"):
        _lag(fmus["fmi2"]).fit(U, EXACT)
