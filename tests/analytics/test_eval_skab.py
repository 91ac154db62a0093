"""``futago eval skab``: SKAB's own protocol, the figures it reports, and predictions anyone can rescore.

The real benchmark lives in ``../shared/data/skab`` next to the repository (never copied into it); those
tests skip when it is absent. A small synthetic SKAB-shaped folder covers the rest everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from futago.analytics.evaluation import skab
from futago.cli import main
from futago.core.errors import InvalidInput

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skab"
SENSORS = [
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
]
needs_data = pytest.mark.skipif(
    not (DATA / "valve1").is_dir(), reason=f"SKAB data not found at {DATA} (expected valve1/, valve2/, …)"
)


def _rescore(predictions: Path, source: Path) -> tuple[float, int]:
    """F1 recomputed from outside: prediction files joined with the labels of the original files."""
    tp = fp = fn = 0
    files = 0
    for file in skab.labelled_files(source):
        frame = pd.read_csv(file, sep=";", dtype={"datetime": str})
        test = frame.iloc[skab.TRAIN_ROWS :]
        predicted = pd.read_csv(predictions / skab.output_name(source, file), dtype={"datetime": str})
        assert list(predicted.columns) == ["datetime", "anomaly_pred"]
        assert len(predicted) == len(test)
        assert predicted["datetime"].tolist() == test["datetime"].tolist()
        assert set(predicted["anomaly_pred"].unique()) <= {0, 1}
        truth = test["anomaly"].to_numpy() == 1
        alarm = predicted["anomaly_pred"].to_numpy() == 1
        tp += int(np.sum(truth & alarm))
        fp += int(np.sum(~truth & alarm))
        fn += int(np.sum(truth & ~alarm))
        files += 1
    return 2 * tp / (2 * tp + fp + fn), files


@needs_data
def test_cli_scores_skab_beyond_the_published_best(tmp_path: Path) -> None:
    out = tmp_path / "predictions"
    result = CliRunner().invoke(main, ["eval", "skab", str(DATA), "--json", "--predictions", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == {
        "f1",
        "far",
        "mar",
        "f1_lofo",
        "far_lofo",
        "folders",
        "far_unseen_normal",
        "unseen_normal_windows",
        "detector",
        "files",
    }
    # The held-out half of the anomaly-free run (8 windows of 1,600 rows): 41.8 % before the wander band.
    assert figures["unseen_normal_windows"] == 8
    assert 5.0 <= figures["far_unseen_normal"] <= 15.0
    # Held out folder by folder (valve1, valve2): the rule learns nothing across files, so the figures hold.
    assert figures["folders"] == 2
    assert figures["f1_lofo"] >= 0.80 and figures["far_lofo"] <= 15.0
    assert figures["files"] == 20
    assert figures["detector"] == skab.DEFAULT_DETECTOR
    # Best published outlier F1 on SKAB: 0.78 (Conv-AE, MSET). futago's default reaches 0.81 here.
    assert 0.80 <= figures["f1"] <= 0.83
    assert figures["far"] <= 5.0
    assert 0.0 <= figures["mar"] <= 100.0
    assert sorted(p.name for p in out.iterdir()) == sorted(skab.output_name(DATA, f) for f in skab.labelled_files(DATA))
    assert (out / "valve1_0.csv").is_file() and (out / "valve2_3.csv").is_file()
    f1, files = _rescore(out, DATA)
    assert files == 20
    assert f1 == pytest.approx(figures["f1"], abs=1e-12)


@needs_data
def test_unseen_normal_half_is_scored_without_alarm_storms() -> None:
    """Every detector on the held-out half of the anomaly-free run, windows fitted on their own first 400 rows.
    Before the wander band (``anomaly.base``) the ensemble flagged 41.8 % of these rows, EWMA 43.5 %."""
    figures = {name: skab.unseen_normal(DATA, skab.DETECTORS[name]) for name in ("ensemble", "robust_z")}
    assert all(f["unseen_normal_windows"] == 8 for f in figures.values())
    assert 5.0 <= float(figures["ensemble"]["far_unseen_normal"] or 0) <= 15.0
    assert 5.0 <= float(figures["robust_z"]["far_unseen_normal"] or 0) <= 15.0


def test_unseen_normal_is_null_without_the_anomaly_free_run(synthetic: Path) -> None:
    (synthetic / "anomaly-free" / "anomaly-free.csv").unlink()
    assert skab.unseen_normal(synthetic, skab.DETECTORS["ewma"]) == {
        "far_unseen_normal": None,
        "unseen_normal_windows": None,
    }
    (synthetic / "anomaly-free" / "anomaly-free.csv").write_text("not;a\nskab;file\n")
    assert skab.unseen_normal(synthetic, skab.DETECTORS["ewma"])["far_unseen_normal"] is None


@needs_data
def test_anomaly_free_folder_is_not_scored() -> None:
    files = skab.labelled_files(DATA)
    assert all("anomaly-free" not in f.parts for f in files)
    assert {f.parent.name for f in files} == {"valve1", "valve2"}


# a synthetic SKAB-shaped folder ----------------------------------------------------------------
def _skab_file(path: Path, seed: int, with_labels: bool = True, rows: int = 900) -> None:
    """A rig at 1 Hz: noisy sensors, drifting temperatures, and from row 550 to 750 a drop in flow."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(rows, len(SENSORS)))
    data[:, 4] = 70.0 - 0.01 * np.arange(rows) + 0.05 * rng.normal(size=rows)  # Temperature drifts
    data[:, 5] = 25.0 + 0.002 * np.arange(rows) + 0.01 * rng.normal(size=rows)  # Thermocouple drifts
    fault = np.zeros(rows, dtype=int)
    fault[550:750] = 1
    data[:, 7] = 32.0 + rng.normal(size=rows) * 0.3 - 2.0 * fault  # flow drops during the fault
    frame = pd.DataFrame(data, columns=SENSORS)
    frame.insert(0, "datetime", pd.date_range("2020-03-09 10:00:00", periods=rows, freq="s").astype(str))
    if with_labels:
        frame["anomaly"] = fault.astype(float)
        frame["changepoint"] = np.r_[0, np.diff(fault) != 0].astype(float)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=";", index=False)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    root = tmp_path / "skab"
    _skab_file(root / "valve1" / "0.csv", seed=1)
    _skab_file(root / "valve1" / "10.csv", seed=2)
    _skab_file(root / "other" / "3.csv", seed=3, rows=1000)
    _skab_file(root / "anomaly-free" / "anomaly-free.csv", seed=4, with_labels=False)
    _skab_file(root / "other" / "unlabelled.csv", seed=5, with_labels=False)
    return root


def test_every_labelled_file_in_any_folder_is_scored(synthetic: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    figures = skab.evaluate(synthetic, predictions=out)
    # The synthetic anomaly-free file (900 rows) is too short for one 1,600-row window of its second half.
    assert figures["far_unseen_normal"] is None and figures["unseen_normal_windows"] is None
    assert figures["files"] == 3
    assert sorted(p.name for p in out.iterdir()) == ["other_3.csv", "valve1_0.csv", "valve1_10.csv"]
    f1, _ = _rescore(out, synthetic)
    assert f1 == pytest.approx(figures["f1"], abs=1e-12)
    assert figures["f1"] > 0.9 and figures["far"] < 5.0  # a clean two-count flow drop is easy
    assert figures["folders"] == 2  # valve1 and other; anomaly-free is never scored
    assert figures["f1_lofo"] == pytest.approx(figures["f1"]) and figures["far_lofo"] == pytest.approx(figures["far"])


@pytest.mark.parametrize("detector", sorted(skab.DETECTORS))
def test_every_detector_runs_and_labels_are_never_read_for_predictions(
    synthetic: Path, tmp_path: Path, detector: str
) -> None:
    first = skab.evaluate(synthetic, predictions=tmp_path / "a", detector=detector)
    assert first["detector"] == detector
    # Invert every label: the predictions must not change (only the figures computed from them).
    for file in skab.labelled_files(synthetic):
        frame = pd.read_csv(file, sep=";", dtype={"datetime": str})
        frame["anomaly"] = 1.0 - frame["anomaly"]
        frame.to_csv(file, sep=";", index=False)
    skab.evaluate(synthetic, predictions=tmp_path / "b", detector=detector)
    for name in ("valve1_0.csv", "valve1_10.csv", "other_3.csv"):
        a = pd.read_csv(tmp_path / "a" / name)
        b = pd.read_csv(tmp_path / "b" / name)
        pd.testing.assert_frame_equal(a, b)


def test_unknown_detector_and_empty_folder_are_reported(synthetic: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown SKAB detector"):
        skab.evaluate(synthetic, detector="nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no SKAB CSV"):
        skab.evaluate(tmp_path / "empty")
    result = CliRunner().invoke(main, ["eval", "skab", str(synthetic), "--detector", "nope"])
    assert result.exit_code == 1 and "unknown SKAB detector" in result.output


def test_table_mode_prints_figures(synthetic: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "skab", str(synthetic), "--detector", "pca_t2q"])
    assert result.exit_code == 0, result.output
    assert "f1" in result.stdout and "pca_t2q" in result.stdout
