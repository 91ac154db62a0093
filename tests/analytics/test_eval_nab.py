"""``futago eval nab``: the NAB scorer on hand-computed cases, and the evaluation on the real NAB data.

The scorer cases restate NAB's rules (``nab/sweeper.py``) with plain arithmetic, independent of the code under test:
the scaled sigmoid ``2 / (1 + e^{5x}) - 1``, a window's earliest detection rewarded at position
``-(end - i + 1) / width`` and divided by the value at the window's start, false positives costing ``A_FP`` times the
sigmoid at ``(i - end_prev) / (width_prev - 1)`` behind the last window (the full ``A_FP`` before any window), and
nothing in the first ``min(floor(0.15 n), 750)`` rows.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from futago.analytics.anomaly.likelihood import AnomalyLikelihood
from futago.analytics.evaluation import nab
from futago.cli import main

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"
STANDARD = nab.PROFILES["standard"]
# The figure the default detector reaches on realKnownCause (65.3 when this was written), with some margin.
TARGET = 60.0


def sigmoid(x: float) -> float:
    """NAB's scaled sigmoid, restated: 2σ(-5x) - 1, and -1 beyond three window widths."""
    return -1.0 if x > 3 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def detections(n: int, rows: list[int]) -> np.ndarray:
    hits = np.zeros(n, dtype=bool)
    hits[rows] = True
    return hits


def raw(n: int, windows: list[tuple[int, int]], rows: list[int], profile: nab.Profile = STANDARD) -> float:
    return nab.score_detections(detections(n, rows), nab.row_weights(n, windows, profile), profile).raw


# -- the scorer, by hand --------------------------------------------------------------------------------------
def test_scaled_sigmoid_matches_nab_reference_points() -> None:
    # The values NAB's docstring gives: window start, halfway, end, one width past, far past.
    assert float(nab.scaled_sigmoid(-1.0)) == pytest.approx(0.98661, abs=1e-5)
    assert float(nab.scaled_sigmoid(-0.5)) == pytest.approx(0.84828, abs=1e-5)
    assert float(nab.scaled_sigmoid(0.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(nab.scaled_sigmoid(1.0)) == pytest.approx(-0.98661, abs=1e-5)
    assert float(nab.scaled_sigmoid(3.5)) == -1.0
    assert float(nab.scaled_sigmoid(1e6)) == -1.0  # no overflow far out


@pytest.mark.parametrize(
    ("n", "expected"), [(100, 15), (1882, 282), (4032, 604), (4999, 749), (5000, 750), (22695, 750)]
)
def test_probation_is_15_percent_capped_at_750(n: int, expected: int) -> None:
    assert nab.probation_length(n) == expected


def test_detection_at_window_start_is_worth_exactly_a_tp() -> None:
    assert raw(100, [(40, 49)], [40]) == pytest.approx(1.0)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    # Width 10: row 42 sits at -(49 - 42 + 1) / 10 = -0.8; rows 45 and 49 add nothing more.
    expected = sigmoid(-0.8) / sigmoid(-1.0)
    assert raw(100, [(40, 49)], [42, 45, 49]) == pytest.approx(expected)
    assert raw(100, [(40, 49)], [49]) == pytest.approx(sigmoid(-0.1) / sigmoid(-1.0))


def test_missed_window_costs_a_fn_and_silence_is_the_null_score() -> None:
    assert raw(100, [(40, 49)], []) == pytest.approx(-1.0)
    low_fn = nab.PROFILES["reward_low_FN_rate"]
    assert raw(100, [(40, 49)], [], low_fn) == pytest.approx(-2.0)


def test_false_positives_before_after_and_far_after_a_window() -> None:
    before = -0.11  # no window before row 20: a full false positive
    just_after = 0.11 * sigmoid((52 - 49) / (10 - 1))  # mild: close behind the window
    far_after = -0.11  # (90 - 49) / 9 > 3 widths
    assert raw(100, [(40, 49)], [20]) == pytest.approx(-1.0 + before)
    assert raw(100, [(40, 49)], [52]) == pytest.approx(-1.0 + just_after)
    assert raw(100, [(40, 49)], [90]) == pytest.approx(-1.0 + far_after)
    assert -0.11 < just_after < 0
    low_fp = nab.PROFILES["reward_low_FP_rate"]
    assert raw(100, [(40, 49)], [20, 40], low_fp) == pytest.approx(1.0 - 0.22)


def test_false_positives_are_scored_against_the_closest_preceding_window() -> None:
    # Windows of width 5 and 11; row 70 follows the second (ends at 65), not the first (ends at 34).
    windows = [(30, 34), (55, 65)]
    expected = -2.0 + 0.11 * sigmoid((70 - 65) / (11 - 1))
    assert raw(200, windows, [70]) == pytest.approx(expected)
    between = -2.0 + 0.11 * sigmoid((40 - 34) / (5 - 1))
    assert raw(200, windows, [40]) == pytest.approx(between)


def test_the_probationary_period_is_not_scored() -> None:
    # n = 100: rows 0-14 are probation. A detection there is ignored, not a false positive.
    assert raw(100, [(40, 49)], [3]) == pytest.approx(-1.0)
    # A window cut by the probation keeps its scored rows only, and position still counts from its real start.
    width = 21 - 10 + 1
    assert raw(100, [(10, 21)], [12]) == pytest.approx(-1.0)
    assert raw(100, [(10, 21)], [15]) == pytest.approx(sigmoid(-(21 - 15 + 1) / width) / sigmoid(-1.0))
    # A window wholly inside the probation is not scored at all (NAB gives it no name, so no FN).
    weights = nab.row_weights(100, [(2, 8)], STANDARD)
    assert weights.n_scored_windows == 0
    assert raw(100, [(2, 8)], []) == 0.0


def test_cases_of_nabs_own_true_positive_tests() -> None:
    """NAB's ``tests/integration/true_positive_test.py``, restated (cost matrix of ones, window after probation)."""
    ones = nab.Profile("ones", tp=1.0, fp=1.0, fn=1.0)
    n, window = 1000, (300, 399)
    # A hit at a window's first row is worth A_TP whatever the window's width.
    assert raw(n, [window], [300], ones) == pytest.approx(1.0)
    assert raw(n, [(300, 301)], [300], ones) == pytest.approx(1.0)
    # The sigmoid crosses zero between a window's last row and the next: TP there + FP just after + 1 FN ≈ 0.
    at_end, just_after = raw(n, [window], [399], ones), raw(n, [window], [400], ones)
    assert at_end + just_after + 1 == pytest.approx(0.0, abs=1e-3)
    # Counts are rows: the later rows of a window hit twice stay true positives, the rest false negatives.
    result = nab.score_detections(detections(n, [300, 399]), nab.row_weights(n, [window], ones), ones)
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 0, 98, n - 150 - 100)
    assert result.raw == pytest.approx(1.0)


def test_normalisation_gives_null_zero_and_perfect_hundred() -> None:
    windows = [[(20, 29), (60, 69)], [(40, 44)], []]
    n = 100
    weights = [nab.row_weights(n, w, STANDARD) for w in windows]
    null, perfect = nab.corpus_bounds(weights, sum(len(w) for w in windows), STANDARD)
    assert (null, perfect) == (-3.0, 3.0)
    starts = [[start for start, _ in w] for w in windows]
    perfect_raw = sum(raw(n, w, s) for w, s in zip(windows, starts, strict=True))
    silent_raw = sum(raw(n, w, []) for w in windows)
    assert nab.normalise(perfect_raw, null, perfect) == pytest.approx(100.0)
    assert nab.normalise(silent_raw, null, perfect) == pytest.approx(0.0)


def test_sweep_finds_the_best_threshold_of_brute_force() -> None:
    rng = np.random.default_rng(3)
    windows = [[(30, 39), (70, 79)], [(50, 59)]]
    scores = [np.round(rng.random(120), 2) for _ in windows]
    scores[0][72] = scores[1][51] = 0.995  # two early detections
    scores[1][10] = 0.999  # the top score, but inside the probation (18 rows): never counted
    scores[1][100] = 0.97  # a false positive far behind the window
    weights = [nab.row_weights(120, w, STANDARD) for w in windows]
    threshold, best = nab.sweep(scores, weights, STANDARD)

    def total(t: float) -> float:
        return sum(nab.score_detections(s >= t, w, STANDARD).raw for s, w in zip(scores, weights, strict=True))

    candidates = sorted({float(v) for s in scores for v in s}, reverse=True)
    brute = max(candidates, key=lambda t: (total(t), t))  # ties: the highest threshold, like NAB
    assert best == pytest.approx(total(brute))
    assert threshold == brute
    assert best >= total(math.inf)


def test_published_totals_normalise_to_nabs_scoreboard() -> None:
    # final_results.json of NAB v1.1 (also at DATA / "final_results.json").
    scoreboard = {
        ("numenta", "standard"): 70.10105611943965,
        ("numenta", "low_fp"): 63.11684160219828,
        ("numenta", "low_fn"): 74.3202443095115,
        ("windowedGaussian", "standard"): 39.649523496077585,
        ("windowedGaussian", "low_fp"): 20.86798582474138,
        ("windowedGaussian", "low_fn"): 47.4100271583046,
        ("ARTime", "standard"): 74.85377223215792,
        ("contextOSE", "standard"): 69.89956896844828,
    }
    for (detector, profile), published in scoreboard.items():
        total = nab.PUBLISHED_TOTALS[detector][profile]
        assert nab.normalise_published(total, nab.NAB_WINDOWS, profile) == pytest.approx(published, abs=1e-6)


def test_published_subset_scores_cover_every_series() -> None:
    for by_profile in nab.PUBLISHED_RAW.values():
        for files in by_profile.values():
            assert set(files) == set(nab.SUBSET_WINDOWS)
    figures = nab.published_subset_scores()
    assert figures["published_standard_numenta"] == pytest.approx(55.47, abs=0.01)
    assert figures["published_standard_windowedGaussian"] == pytest.approx(13.36, abs=0.01)


# -- the evaluation on NAB's data -----------------------------------------------------------------------------
needs_data = pytest.mark.skipif(
    not (DATA / "realKnownCause").is_dir(), reason=f"NAB data not found at {DATA} (realKnownCause/ and labels/)"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """``futago eval nab DATA --json --predictions OUT``, once for the module."""
    out = tmp_path_factory.mktemp("nab")
    result = CliRunner().invoke(main, ["eval", "nab", str(DATA), "--json", "--predictions", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out


@needs_data
def test_eval_reports_the_figures(run: tuple[dict[str, Any], Path]) -> None:
    figures, _ = run
    assert {"score_standard", "score_low_fp", "score_low_fn", "detector", "series", "threshold"} <= set(figures)
    assert figures["detector"] == "likelihood"
    assert (figures["series"], figures["windows"]) == (7, 19)
    assert figures["score_standard"] >= TARGET
    # NAB's swept threshold is optimised on these labels: it can only do as well or better (same scorer).
    assert figures["score_standard_swept"] >= figures["score_standard"] - 1e-9
    assert figures["score_standard"] > figures["published_standard_windowedGaussian"]


@needs_data
def test_predictions_are_in_nab_results_format(run: tuple[dict[str, Any], Path]) -> None:
    figures, out = run
    corpus = nab.load_corpus(DATA)
    folder = out / "likelihood" / nab.CORPUS
    raw_total = 0.0
    for series in corpus:
        with (folder / f"likelihood_{series.name}.csv").open(newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["timestamp", "value", "anomaly_score", "label"]
        body = rows[1:]
        assert [row[0] for row in body] == series.timestamps
        labels = np.array([int(row[3]) for row in body])
        assert labels.sum() == sum(end - start + 1 for start, end in series.windows)
        scores = np.array([float(row[2]) for row in body])
        assert ((scores >= 0) & (scores <= 1)).all()
        weights = nab.row_weights(len(scores), series.windows, STANDARD)
        raw_total += nab.score_detections(scores >= figures["threshold"], weights, STANDARD).raw
        assert (out / "null" / nab.CORPUS / f"null_{series.name}.csv").is_file()
    # The files alone reproduce the score.
    assert nab.normalise(raw_total, -19.0, 19.0) == pytest.approx(figures["score_standard"])
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert thresholds["likelihood"]["standard"]["threshold"] == figures["threshold"]
    windows = json.loads((out / "windows.json").read_text())
    assert set(windows) == {f"{nab.CORPUS}/{series.name}.csv" for series in corpus}


@needs_data
def test_scores_are_causal() -> None:
    """A row's score depends on the rows up to it only: scoring a prefix gives the same scores."""
    series = next(s for s in nab.load_corpus(DATA) if s.name == "rogue_agent_key_hold")

    def scores(values: np.ndarray) -> np.ndarray:
        detector = AnomalyLikelihood(warmup=nab.probation_length(len(series.values)), season=nab.rows_per_week(series))
        return nab.stream_scores(detector, values)

    whole = scores(series.values)
    np.testing.assert_array_equal(scores(series.values[:1000]), whole[:1000])


def test_unknown_detector_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "nab", str(tmp_path), "--detector", "oracle"])
    assert result.exit_code == 1
    assert "unknown NAB detector" in result.output


def test_missing_data_folder_is_explained(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "nab", str(tmp_path), "--json"])
    assert result.exit_code == 1
    assert "not a NAB data folder" in result.output


def test_rows_per_week_follows_the_sampling_interval() -> None:
    for minutes, expected in ((5, 2016), (60, 168), (30, 336)):
        stamps = [str(np.datetime64("2014-01-01T00:00") + np.timedelta64(minutes * i, "m")) for i in range(10)]
        series = nab.Series("s", [s.replace("T", " ") for s in stamps], np.zeros(10), [])
        assert nab.rows_per_week(series) == expected
