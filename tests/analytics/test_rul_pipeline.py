"""``RULPipeline``: raw sensor rows in, remaining useful life per row out, as a twin behaviour's saved model.

The shared protocol checks run from ``cases/rul.py``; these tests pin what a behaviour relies on beyond them:
answers are causal (a window's earlier rows keep their answers as cycles arrive), run boundaries are inferred
from the target, the streaming form follows one unit, a pickled pipeline answers the same (it is what a
behaviour's ``artifact`` holds), and the pipeline ``futago eval cmapss --save-model`` writes scores FD001's test
engines as the evaluation does (skipped without the data at ``../shared/data/cmapss``).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from futago.analytics.metrics import rmse
from futago.analytics.rul import RULPipeline, run_to_failure_rul, runs_from_target
from futago.cli import main
from futago.core.errors import InvalidInput
from futago.sim.behaviours import load_artifact
from tests.analytics.cases.rul import synthetic_fleet

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cmapss"
FILES = ("train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt")


@pytest.fixture(scope="module")
def fleet() -> tuple[np.ndarray, np.ndarray]:
    readings, units, _ = synthetic_fleet(12, seed=3)
    return readings, units


@pytest.fixture(scope="module")
def fitted(fleet: tuple[np.ndarray, np.ndarray]) -> RULPipeline:
    readings, units = fleet
    model = RULPipeline(window=10, regressor_params={"max_iter": 30})
    return model.fit(readings, run_to_failure_rul(units, len(units)))


@pytest.fixture(scope="module")
def history() -> np.ndarray:
    return synthetic_fleet(1, seed=4)[0]


def test_answers_are_causal(fitted: RULPipeline, history: np.ndarray) -> None:
    full = fitted.predict(history)
    assert full.shape == (len(history),) and np.all((full >= 0) & (full <= fitted.cap))
    for stop in (1, 5, 10, 11, 37, len(history) - 1):
        np.testing.assert_array_equal(fitted.predict(history[:stop]), full[:stop])
    # Later rows that look nothing like the earlier ones change nothing before them.
    wild = np.vstack([history[:50], np.full((20, history.shape[1]), 1e3)])
    np.testing.assert_array_equal(fitted.predict(wild)[:50], full[:50])
    # And the estimate falls as the unit wears out: last answers well below the first.
    assert full[-10:].mean() < full[:10].mean() - 50


def test_predict_one_streams_one_unit(fleet: tuple[np.ndarray, np.ndarray], history: np.ndarray) -> None:
    readings, units = fleet
    model = RULPipeline(window=10, regressor_params={"max_iter": 30})
    model.fit(readings, run_to_failure_rul(units, len(units)))
    streamed = np.array([model.predict_one(row) for row in history])
    np.testing.assert_allclose(streamed, model.predict(history), rtol=1e-9, atol=1e-9)
    assert model._recent is not None and len(model._recent) == model.window  # only the last window is kept
    model.reset_stream()
    np.testing.assert_allclose(model.predict_one(history[0]), model.predict(history[:1])[0], rtol=1e-9)


def test_run_boundaries_are_where_the_target_rises() -> None:
    np.testing.assert_array_equal(runs_from_target([3, 2, 1, 0, 2, 1, 0, 5, 4]), [0, 0, 0, 0, 1, 1, 1, 2, 2])
    # A capped target's plateau is one run; so is a plateau at 0 after a failure threshold.
    np.testing.assert_array_equal(runs_from_target([5, 5, 5, 4, 0, 0, 5, 5, 3]), [0, 0, 0, 0, 0, 0, 1, 1, 1])
    assert runs_from_target([]).shape == (0,)


def test_fit_infers_the_runs_from_capped_or_raw_targets(
    fleet: tuple[np.ndarray, np.ndarray], fitted: RULPipeline, history: np.ndarray
) -> None:
    readings, units = fleet
    assert fitted.n_runs_ == 12
    capped = RULPipeline(window=10, regressor_params={"max_iter": 30})
    capped.fit(readings, run_to_failure_rul(units, len(units), cap=125.0))
    assert capped.n_runs_ == 12
    np.testing.assert_array_equal(capped.predict(history), fitted.predict(history))
    assert fitted.input_names_ == [f"x{j}" for j in range(readings.shape[1])]


def test_pickle_round_trip_and_artifact(fitted: RULPipeline, history: np.ndarray, tmp_path: Path) -> None:
    file = tmp_path / "rul.pkl"
    file.write_bytes(pickle.dumps(fitted))
    again = load_artifact(str(file), RULPipeline)
    assert isinstance(again, RULPipeline)
    np.testing.assert_array_equal(again.predict(history), fitted.predict(history))
    assert again.describe()["name"] == "rul_pipeline"


def test_settings_columns_and_operating_regimes() -> None:
    """Two operating regimes that shift every sensor: with the setting column the pipeline standardises per regime."""
    readings, units, _ = synthetic_fleet(8, seed=5)
    rng = np.random.default_rng(0)
    regime = rng.integers(0, 2, size=len(units)).astype(np.float64)
    shifted = readings + 5.0 * regime[:, None]
    X = np.hstack([regime[:, None], shifted])
    y = run_to_failure_rul(units, len(units))
    model = RULPipeline(window=10, regressor="ridge", n_settings=1, n_conditions=2).fit(X, y)
    assert model.input_names_[0] == "setting1" and model.n_features_ == 6
    assert model.predict(X[units == 1]).shape == (int(np.sum(units == 1)),)
    with pytest.raises(InvalidInput):
        RULPipeline(n_conditions=2).fit(shifted, y)  # regimes need settings columns


def test_bad_parameters_are_problems(fleet: tuple[np.ndarray, np.ndarray]) -> None:
    readings, units = fleet
    y = run_to_failure_rul(units, len(units))
    for params in ({"regressor": "lstm"}, {"regressor_params": {"cap": 10}}, {"cap": -1.0}, {"sensor_names": ["a"]}):
        with pytest.raises(InvalidInput):
            RULPipeline(window=10, **params).fit(readings, y)
    with pytest.raises(InvalidInput):
        RULPipeline(window=10, regressor_params={"no_such": 1}).fit(readings, y)


def test_save_model_is_cmapss_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "skab", str(tmp_path), "--save-model", str(tmp_path / "m.pkl")])
    assert result.exit_code == 2 and "only cmapss" in result.output


@pytest.mark.skipif(
    not all((DATA / name).is_file() for name in FILES),
    reason=f"C-MAPSS FD001 not found at {DATA} (needs {', '.join(FILES)})",
)
def test_saved_cmapss_pipeline_scores_the_test_engines(tmp_path: Path) -> None:
    from futago.analytics.evaluation import cmapss

    file = tmp_path / "models" / "rul.pkl"
    result = CliRunner().invoke(main, ["eval", "cmapss", str(DATA), "--json", "--save-model", str(file)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["saved_model"] == str(file)
    model = load_artifact(str(file), RULPipeline)
    assert isinstance(model, RULPipeline)
    assert model.input_names_ == cmapss.SENSOR_NAMES and model.n_features_ == cmapss.N_SENSORS
    test = cmapss.load_fleet(DATA / "test_FD001.txt")
    truth = np.minimum(cmapss.load_truth(DATA / "RUL_FD001.txt", len(test.unit_ids)), model.cap)
    score = rmse(truth, cmapss.predict_last(model, test))
    assert score <= 12.0
    # The same model as the one evaluated: the figure reproduces.
    assert score == pytest.approx(figures["rmse"], abs=1e-6)
    assert figures["saved_model_rmse"] == pytest.approx(figures["rmse"], abs=1e-6)
