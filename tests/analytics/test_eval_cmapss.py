"""``futago eval cmapss``: NASA C-MAPSS FD001 remaining useful life, end to end through the command.

Needs the data at ``../shared/data/cmapss`` beside the repository (``train_FD001.txt``, ``test_FD001.txt``,
``RUL_FD001.txt``); skipped without it. The figures are deterministic (fixed ``random_state``): the default
gradient-boosting model scores RMSE 10.98 against the capped truth, so the test holds it to 12.0, well inside the
16.0 of Zheng et al.'s deep LSTM (16.14), with a margin for other scikit-learn versions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from futago.analytics.evaluation import cmapss
from futago.analytics.rul import phm08_score
from futago.cli import main
from futago.core.errors import InvalidInput

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cmapss"
FILES = ("train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt")

pytestmark = pytest.mark.skipif(
    not all((DATA / name).is_file() for name in FILES),
    reason=f"C-MAPSS FD001 not found at {DATA} (needs {', '.join(FILES)})",
)

RMSE_REACHED = 12.0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("cmapss") / "predictions.csv"
    result = CliRunner().invoke(main, ["eval", "cmapss", str(DATA), "--json", "--predictions", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out


def test_figures_and_their_keys(run: tuple[dict[str, Any], Path]) -> None:
    figures, _ = run
    assert {"rmse", "phm08_score", "baseline_rmse", "model", "engines", "mae"} <= figures.keys()
    assert figures["model"] == "rul_gbm" and figures["engines"] == 100
    assert figures["baseline_rmse"] == pytest.approx(36.08, abs=0.01)
    assert figures["rmse"] <= RMSE_REACHED <= 16.0
    assert figures["rmse"] < figures["baseline_rmse"]
    assert figures["phm08_score"] < figures["baseline_phm08_score"]
    assert 0 < figures["mae"] <= figures["rmse"]


def test_predictions_file_recomputes_the_figures(run: tuple[dict[str, Any], Path]) -> None:
    figures, file = run
    with file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["unit", "rul_pred"]
        rows = list(reader)
    assert len(rows) == 100
    units = [int(row["unit"]) for row in rows]
    assert units == list(range(1, 101))
    pred = np.array([float(row["rul_pred"]) for row in rows])
    truth_raw = np.loadtxt(DATA / "RUL_FD001.txt")
    truth = np.minimum(truth_raw, figures["truth_cap"])
    assert np.sqrt(np.mean((pred - truth) ** 2)) == pytest.approx(figures["rmse"], rel=1e-12)
    assert np.sqrt(np.mean((pred - truth_raw) ** 2)) == pytest.approx(figures["rmse_uncapped_truth"], rel=1e-12)
    assert phm08_score(truth, pred) == pytest.approx(figures["phm08_score"], rel=1e-12)


def test_another_model_by_name_with_progress() -> None:
    figures = cmapss.evaluate(DATA, progress=True, detector="ridge")
    assert figures["model"] == "rul_ridge"
    assert figures["rmse"] < figures["baseline_rmse"]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(InvalidInput):
        cmapss.evaluate(DATA, detector="no_such_model")
