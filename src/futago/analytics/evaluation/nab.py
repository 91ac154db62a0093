"""NAB, the Numenta Anomaly Benchmark: the ``realKnownCause`` series scored with NAB's own rules.

``futago eval nab PATH`` streams every series of ``PATH/realKnownCause`` through a detector (one row at a time:
a score at row ``t`` uses rows ``0..t`` only, as NAB requires), turns scores into detections with one threshold
for the whole corpus, and scores them as NAB v1.x does (``nab/sweeper.py``), reimplemented here:

* **labels** are windows ``[start, end]`` (``labels/combined_windows.json``); a row inside one is labelled 1;
* **probation**: the first ``min(floor(0.15 n), 750)`` rows of a series are the detector's warm-up and are not
  scored at all (detections there are ignored, window rows there are dropped);
* **true positives**: only the *earliest* detection in a window counts, worth
  ``A_TP · σ(-(end - i + 1) / width) / σ(-1)`` with ``σ(x) = 2 / (1 + e^{5x}) - 1`` NAB's scaled sigmoid (and -1
  beyond ``x = 3``): exactly ``A_TP`` at the window's first row, falling to about 0 at its last; a window without
  detection costs ``A_FN``;
* **false positives**: every detection outside the windows adds ``A_FP · σ((i - end_prev) / (width_prev - 1))``
  (negative) after the closest preceding window: a mild cost close behind it, the full ``A_FP`` far behind it and
  before the first window; true negatives earn nothing;
* **normalisation**: ``100 · (raw - null) / (perfect - null)``, with ``null`` the raw score of a detector that
  never fires (``-A_FN`` per scored window) and ``perfect`` ``A_TP`` per labelled window (a hit at every window's
  first row), so never firing scores 0 and the perfect detector 100.

The three NAB profiles weight these differently (``config/profiles.json``): standard ``A_FP = 0.11``, reward low FP
``A_FP = 0.22``, reward low FN ``A_FN = 2`` (``A_TP = 1`` in all). NAB also optimises each detector's threshold per
profile over its corpus, with the labels (``nab/optimizer.py``). We report that swept figure too (``*_swept``), but
the headline ``score_*`` uses the threshold the detector fixes in advance (0.5 on the likelihood scale, a tail
probability of 1e-5: see ``futago.analytics.anomaly.likelihood``), so no label chooses it.

The published scoreboard (``final_results.json``) is over all 58 NAB series. ``PUBLISHED_RAW`` keeps the per-file
raw scores NAB published for four of its detectors on the seven ``realKnownCause`` files, from which
:func:`published_subset_scores` gives their score on the same subset we run.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from futago.analytics.anomaly.likelihood import AnomalyLikelihood
from futago.analytics.protocol import Detector
from futago.core.errors import InvalidInput
from futago.core.problems import Problem

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CORPUS = "realKnownCause"
LABELS = "labels/combined_windows.json"
PROBATION_PERCENT = 0.15
# NAB caps the warm-up at 15 % of 5000 rows: long series should not get an ever longer free ride.
PROBATION_CAP = math.floor(PROBATION_PERCENT * 5000)
# Window ids in the per-row arrays: -1 outside every window, -2 inside the probationary period (not scored).
OUTSIDE, PROBATION = -1, -2


@dataclass(frozen=True)
class Profile:
    """One NAB application profile (its cost matrix; true negatives are always worth 0)."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES: dict[str, Profile] = {
    "standard": Profile("standard", tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
}
# Our JSON keys for the profiles.
PROFILE_KEYS = {"standard": "standard", "reward_low_FP_rate": "low_fp", "reward_low_FN_rate": "low_fn"}


# -- data -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One NAB data file: raw timestamp strings (written back unchanged), values, and labelled windows as
    inclusive row ranges."""

    name: str
    timestamps: list[str]
    values: FloatArray
    windows: list[tuple[int, int]]

    @property
    def labels(self) -> IntArray:
        """1 inside a labelled window, else 0 (NAB's ``label`` column)."""
        labels = np.zeros(len(self.values), dtype=np.int64)
        for start, end in self.windows:
            labels[start : end + 1] = 1
        return labels


def load_corpus(path: Path, corpus: str = CORPUS) -> list[Series]:
    """Every ``PATH/<corpus>/*.csv`` with its windows from ``PATH/labels/combined_windows.json``."""
    folder, labels_path = path / corpus, path / LABELS
    missing = [str(p) for p in (folder, labels_path) if not p.exists()]
    if missing:
        raise InvalidInput(
            [Problem("/path", f"not a NAB data folder: {', '.join(missing)} missing (expected {corpus}/ and labels/)")]
        )
    windows = json.loads(labels_path.read_text())
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise InvalidInput([Problem("/path", f"no CSV files in {folder}")])
    return [_load_series(file, windows.get(f"{corpus}/{file.name}", [])) for file in files]


def _load_series(file: Path, limits: Sequence[Sequence[str]]) -> Series:
    with file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"timestamp", "value"} <= set(rows[0]):
        raise InvalidInput([Problem(f"/{file.name}", "a NAB file needs the columns timestamp,value")])
    stamps = [row["timestamp"] for row in rows]
    try:
        values = np.array([float(row["value"]) for row in rows], dtype=np.float64)
        times = np.array(stamps, dtype="datetime64[us]")
    except ValueError as exc:
        raise InvalidInput([Problem(f"/{file.name}", f"unreadable timestamp or value ({exc})")]) from exc
    return Series(file.stem, stamps, values, [_window_rows(times, start, end) for start, end in limits])


def _window_rows(times: NDArray[np.datetime64], start: str, end: str) -> tuple[int, int]:
    """A window's rows: from the first timestamp at or after ``start`` to the last at or before ``end`` (NAB's
    windows are cut on row timestamps, so these are exact matches in practice)."""
    first = int(np.searchsorted(times, np.datetime64(start, "us"), side="left"))
    last = int(np.searchsorted(times, np.datetime64(end, "us"), side="right")) - 1
    if last < first:
        raise InvalidInput([Problem("/labels", f"window [{start}, {end}] holds no rows")])
    return first, last


# -- the scorer -----------------------------------------------------------------------------------------------
def probation_length(n_rows: int) -> int:
    """NAB's warm-up: ``min(floor(0.15 n), 750)`` rows."""
    return min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_CAP)


def scaled_sigmoid(position: float | FloatArray) -> FloatArray:
    """NAB's ``2σ(-5x) - 1``: +0.987 at the start of a window (``x = -1``), 0 at its end, -0.987 one window-width
    past it, and exactly -1 beyond three widths."""
    x = np.asarray(position, dtype=np.float64)
    value = 2.0 / (1.0 + np.exp(5.0 * np.minimum(x, 3.0))) - 1.0  # the clip only avoids overflow far out
    return np.where(x > 3.0, -1.0, value)


_MAX_TP = float(scaled_sigmoid(-1.0))


@dataclass(frozen=True)
class RowWeights:
    """What each row of a series would contribute as a detection (NAB's per-row "sweep score") and which window
    it belongs to (``OUTSIDE``, ``PROBATION`` or a window index)."""

    weight: FloatArray
    window: IntArray
    n_scored_windows: int


def row_weights(n_rows: int, windows: Sequence[tuple[int, int]], profile: Profile) -> RowWeights:
    """Per-row NAB weights: the scaled-sigmoid reward inside windows, the (position-dependent) FP cost outside."""
    index = np.arange(n_rows)
    weight = np.full(n_rows, -profile.fp, dtype=np.float64)  # before any window: a full false positive
    window = np.full(n_rows, OUTSIDE, dtype=np.int64)
    ordered = sorted(windows)
    for k, (start, end) in enumerate(ordered):
        width = end - start + 1
        rows = index[start : end + 1]
        weight[start : end + 1] = scaled_sigmoid(-(end - rows + 1) / width) * profile.tp / _MAX_TP
        window[start : end + 1] = k
        # Rows after this window, up to the next one, are scored against it (the closest preceding window).
        stop = ordered[k + 1][0] if k + 1 < len(ordered) else n_rows
        after = index[end + 1 : stop]
        # NAB divides by width - 1; a one-row window would divide by zero there, so it counts as width 2.
        weight[end + 1 : stop] = scaled_sigmoid((after - end) / max(width - 1, 1)) * profile.fp
    probation = probation_length(n_rows)
    window[:probation] = PROBATION
    scored = len({int(w) for w in window[probation:] if w >= 0})
    return RowWeights(weight, window, scored)


@dataclass(frozen=True)
class SeriesScore:
    """A series' NAB raw score and its confusion counts (counted in rows, as NAB's score files do)."""

    raw: float
    tp: int
    fp: int
    fn: int
    tn: int
    windows_hit: int
    windows: int


def score_detections(detections: NDArray[np.bool_], weights: RowWeights, profile: Profile) -> SeriesScore:
    """NAB raw score of 0/1 detections: earliest detection per window, FP costs outside, ``-A_FN`` per missed
    window; rows in the probationary period count for nothing."""
    scored = weights.window != PROBATION
    hit = detections.astype(bool) & scored
    inside = weights.window >= 0
    raw = float(weights.weight[hit & ~inside].sum())
    hits = 0
    for k in np.unique(weights.window[inside & scored]):
        in_window = hit & (weights.window == k)
        if in_window.any():
            raw += float(weights.weight[np.argmax(in_window)])  # the earliest detection: the highest weight
            hits += 1
        else:
            raw -= profile.fn
    return SeriesScore(
        raw=raw,
        tp=int((hit & inside).sum()),
        fp=int((hit & ~inside).sum()),
        fn=int((~hit & inside & scored).sum()),
        tn=int((~hit & ~inside & scored).sum()),
        windows_hit=hits,
        windows=weights.n_scored_windows,
    )


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB's final score: 0 for the detector that never fires, 100 for the perfect one."""
    return 100.0 * (raw - null) / (perfect - null)


def corpus_bounds(series_windows: Iterable[RowWeights], n_labelled: int, profile: Profile) -> tuple[float, float]:
    """``(null, perfect)`` raw scores of a corpus: never firing misses every scored window; the perfect detector
    hits every labelled window at its first row (NAB counts all labelled windows for ``perfect``)."""
    null = -profile.fn * sum(w.n_scored_windows for w in series_windows)
    return null, profile.tp * n_labelled


# -- NAB's threshold sweep ------------------------------------------------------------------------------------
def sweep(scores: Sequence[FloatArray], weights: Sequence[RowWeights], profile: Profile) -> tuple[float, float]:
    """NAB's optimiser: the threshold on the anomaly score that maximises the corpus raw score, and that score.

    Lower the threshold through every distinct score (highest first), adding rows as detections: an FP adds
    its cost, a row in a window lifts that window's value to the best (earliest) weight seen. Ties in score keep
    the highest threshold, as NAB's stable sort does. Detection means ``score >= threshold``; ``inf`` (never fire)
    when nothing beats missing every window.
    """
    score, weight, window = _pool(scores, weights)
    best: dict[int, float] = {int(k): -profile.fn for k in np.unique(window[window >= 0])}
    total = sum(best.values())
    best_threshold, best_total = math.inf, total
    order = np.argsort(-score, kind="stable")
    for position, row in enumerate(order):
        k = int(window[row])
        if k == OUTSIDE:
            total += float(weight[row])
        elif weight[row] > best[k]:
            total += float(weight[row]) - best[k]
            best[k] = float(weight[row])
        end_of_tie = position + 1 == len(order) or score[order[position + 1]] != score[row]
        if end_of_tie and total > best_total:
            best_threshold, best_total = float(score[row]), total
    return best_threshold, best_total


def _pool(scores: Sequence[FloatArray], weights: Sequence[RowWeights]) -> tuple[FloatArray, FloatArray, IntArray]:
    """Scored rows of every series in one pool, with window ids made unique across series."""
    stride = 1 + max((int(w.window.max()) for w in weights if len(w.window)), default=0)
    pooled_scores, pooled_weights, pooled_windows = [np.empty(0)], [np.empty(0)], [np.empty(0, dtype=np.int64)]
    for i, (s, w) in enumerate(zip(scores, weights, strict=True)):
        keep = w.window != PROBATION
        pooled_scores.append(np.asarray(s, dtype=np.float64)[keep])
        pooled_weights.append(w.weight[keep])
        pooled_windows.append(np.where(w.window[keep] >= 0, i * stride + w.window[keep], OUTSIDE))
    return np.concatenate(pooled_scores), np.concatenate(pooled_weights), np.concatenate(pooled_windows)


# -- detectors ------------------------------------------------------------------------------------------------
def _likelihood(warmup: int, rows_per_week: int | None) -> Detector:
    # The seasonal view compares with the same time of the week: a prior for human- and machine-driven load.
    return AnomalyLikelihood(warmup=warmup, season=rows_per_week)


#: ``--detector`` choices. Each factory gets NAB's probationary length (what NAB hands its own detectors) and
#: the number of rows in a week at the series' sampling interval. Names have no ``_``: NAB splits file names on it.
DETECTORS: dict[str, Callable[[int, int | None], Detector]] = {"likelihood": _likelihood}
DEFAULT_DETECTOR = "likelihood"


def rows_per_week(series: Series) -> int | None:
    """A week in rows at the series' typical (median) sampling interval; None when the interval is unknown."""
    seconds = np.array(series.timestamps, dtype="datetime64[s]").astype(np.int64)
    interval = float(np.median(np.diff(seconds))) if len(seconds) > 1 else 0.0
    return round(7 * 86_400 / interval) if interval > 0 else None


def stream_scores(detector: Detector, values: FloatArray) -> FloatArray:
    """Feed a series one row at a time: each row is scored first, then learned (causal, as NAB requires)."""
    process: Callable[[FloatArray], float] | None = getattr(detector, "process_one", None)
    scores = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        row = np.array([value])
        if process is not None:
            scores[i] = process(row)
            continue
        scores[i] = detector.score_one(row) if detector.is_fitted else 0.0
        detector.learn_one(row)
    return scores


def run_detector(name: str, series: Series) -> tuple[FloatArray, float]:
    """A detector's scores over one series, and the threshold it decides with."""
    detector = _factory(name)(probation_length(len(series.values)), rows_per_week(series))
    scores = stream_scores(detector, series.values)
    return scores, float(detector.threshold_)


def _factory(name: str) -> Callable[[int, int | None], Detector]:
    factory = DETECTORS.get(name)
    if factory is None:
        raise InvalidInput([Problem("/detector", f"unknown NAB detector '{name}'; choose from {sorted(DETECTORS)}")])
    return factory


# -- the evaluation -------------------------------------------------------------------------------------------
def evaluate(
    path: Path, predictions: Path | None = None, progress: bool = False, detector: str = DEFAULT_DETECTOR
) -> dict[str, Any]:
    """Run ``detector`` over the NAB ``realKnownCause`` series in ``path`` and score it with NAB's rules.

    ``score_*`` use the detector's own threshold (fixed before seeing any label); ``score_*_swept`` the threshold
    NAB's optimiser picks on these seven series with their labels (in-sample: for comparison only);
    ``published_<profile>_<detector>``: NAB's published detectors on the same seven series.
    """
    _factory(detector)
    corpus = load_corpus(path)
    runs = [run_detector(detector, series) for series in _progress(corpus, progress, detector)]
    scores = [run[0] for run in runs]
    threshold = runs[0][1]
    figures: dict[str, Any] = {
        "detector": detector,
        "series": len(corpus),
        "windows": sum(len(series.windows) for series in corpus),
        "threshold": threshold,
    }
    figures |= score_corpus(corpus, scores, threshold)
    figures |= published_subset_scores()
    if predictions is not None:
        write_predictions(predictions, detector, corpus, scores, threshold)
    return figures


def _progress(corpus: Sequence[Series], show: bool, detector: str) -> Iterable[Series]:
    """The series, with a rich progress bar on stderr when asked (the JSON on stdout stays clean)."""
    if not show:
        yield from corpus
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]NAB {detector}[/bold] {{task.description}}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=len(corpus))
        for series in corpus:
            bar.update(task, description=series.name)
            yield series
            bar.advance(task)


def score_corpus(corpus: Sequence[Series], scores: Sequence[FloatArray], threshold: float) -> dict[str, Any]:
    """The three profiles at ``threshold`` (``score_*``) and at NAB's swept threshold (``score_*_swept``)."""
    figures: dict[str, Any] = {}
    n_labelled = sum(len(series.windows) for series in corpus)
    for profile in PROFILES.values():
        key = PROFILE_KEYS[profile.name]
        weights = [row_weights(len(series.values), series.windows, profile) for series in corpus]
        null, perfect = corpus_bounds(weights, n_labelled, profile)
        results = [score_detections(s >= threshold, w, profile) for s, w in zip(scores, weights, strict=True)]
        figures[f"score_{key}"] = normalise(sum(r.raw for r in results), null, perfect)
        if profile.name == "standard":
            figures["windows_detected"] = sum(r.windows_hit for r in results)
            figures["false_positives"] = sum(r.fp for r in results)
        swept_threshold, swept_raw = sweep(scores, weights, profile)
        figures[f"score_{key}_swept"] = normalise(swept_raw, null, perfect)
        figures[f"threshold_{key}_swept"] = swept_threshold
    return figures


# -- NAB's results format -------------------------------------------------------------------------------------
def write_predictions(
    folder: Path, detector: str, corpus: Sequence[Series], scores: Sequence[FloatArray], threshold: float
) -> None:
    """NAB's results layout, so NAB's own scorer can re-score the run:

    ``folder/<detector>/realKnownCause/<detector>_<file>.csv`` (``timestamp,value,anomaly_score,label``), the same
    for NAB's ``null`` detector (never fires), ``folder/thresholds.json`` (our fixed threshold for every profile)
    and ``folder/windows.json`` (the labels of these series only, so NAB normalises over the same windows).
    From a NAB checkout: ``python run.py -d likelihood,null --score --normalize --resultsDir folder
    --windowsFile folder/windows.json --thresholdsFile folder/thresholds.json``.
    """
    for name, rows in ((detector, scores), ("null", [np.zeros(len(s.values)) for s in corpus])):
        target = folder / name / CORPUS
        target.mkdir(parents=True, exist_ok=True)
        for series, series_scores in zip(corpus, rows, strict=True):
            _write_results_file(target / f"{name}_{series.name}.csv", series, series_scores)
    profiles = {profile: {"threshold": threshold, "score": 0.0} for profile in PROFILES}
    null_profiles = {profile: {"threshold": 1.0, "score": 0.0} for profile in PROFILES}
    (folder / "thresholds.json").write_text(json.dumps({detector: profiles, "null": null_profiles}, indent=2))
    (folder / "windows.json").write_text(json.dumps(_windows_json(corpus), indent=2))


def _write_results_file(path: Path, series: Series, scores: FloatArray) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value", "anomaly_score", "label"])
        for stamp, value, score, label in zip(series.timestamps, series.values, scores, series.labels, strict=True):
            writer.writerow([stamp, repr(float(value)), repr(float(score)), int(label)])


def _windows_json(corpus: Sequence[Series]) -> dict[str, list[list[str]]]:
    return {
        f"{CORPUS}/{s.name}.csv": [[s.timestamps[start], s.timestamps[end]] for start, end in s.windows] for s in corpus
    }


# -- NAB's published results on this subset -------------------------------------------------------------------
#: Per-file raw scores NAB published for its detectors on the ``realKnownCause`` files, at each detector's
#: threshold optimised over all 58 NAB series (``results/<detector>/<detector>_<profile>_scores.csv`` in
#: github.com/numenta/NAB; numenta at commit 4b89baf, windowedGaussian de8e91a/bf2de21, ARTime 5a98e4f, contextOSE
#: 08d0935). Their totals over all 58 files normalise to ``final_results.json`` (see ``PUBLISHED_TOTALS``).
PUBLISHED_RAW: dict[str, dict[str, dict[str, float]]] = {
    "numenta": {
        "standard": {
            "ambient_temperature_system_failure": -0.758599859273,
            "cpu_utilization_asg_misconfiguration": -0.255718003788,
            "ec2_request_latency_system_failure": 1.70586905384,
            "machine_temperature_system_failure": 1.36013273774,
            "nyc_taxi": 2.43572773247,
            "rogue_agent_key_hold": -1.11370102385,
            "rogue_agent_key_updown": -1.29575982814,
        },
        "low_fp": {
            "ambient_temperature_system_failure": -0.758599859273,
            "cpu_utilization_asg_misconfiguration": -1.24571800379,
            "ec2_request_latency_system_failure": 1.37586905384,
            "machine_temperature_system_failure": 1.32453417071,
            "nyc_taxi": 2.32572773247,
            "rogue_agent_key_hold": -1.33370102385,
            "rogue_agent_key_updown": -1.96511219487,
        },
        "low_fn": {
            "ambient_temperature_system_failure": -1.75859985927,
            "cpu_utilization_asg_misconfiguration": -0.255718003788,
            "ec2_request_latency_system_failure": 1.70586905384,
            "machine_temperature_system_failure": 0.360132737738,
            "nyc_taxi": 1.43572773247,
            "rogue_agent_key_hold": -2.11370102385,
            "rogue_agent_key_updown": -2.29575982814,
        },
    },
    "windowedGaussian": {
        "standard": {
            "ambient_temperature_system_failure": -2.0,
            "cpu_utilization_asg_misconfiguration": -1.11,
            "ec2_request_latency_system_failure": 2.02150685678,
            "machine_temperature_system_failure": -4.0,
            "nyc_taxi": -5.0,
            "rogue_agent_key_hold": -2.44,
            "rogue_agent_key_updown": -1.3964908955,
        },
        "low_fp": {
            "ambient_temperature_system_failure": -2.0,
            "cpu_utilization_asg_misconfiguration": -1.22,
            "ec2_request_latency_system_failure": 2.02150685678,
            "machine_temperature_system_failure": -4.0,
            "nyc_taxi": -5.0,
            "rogue_agent_key_hold": -2.88,
            "rogue_agent_key_updown": -2.1748083231,
        },
        "low_fn": {
            "ambient_temperature_system_failure": -4.0,
            "cpu_utilization_asg_misconfiguration": -2.11,
            "ec2_request_latency_system_failure": 2.02150685678,
            "machine_temperature_system_failure": -8.0,
            "nyc_taxi": -10.0,
            "rogue_agent_key_hold": -4.44,
            "rogue_agent_key_updown": -2.3964908955,
        },
    },
    "ARTime": {
        "standard": {
            "ambient_temperature_system_failure": 1.6577326504395065,
            "cpu_utilization_asg_misconfiguration": -0.257470331859453,
            "ec2_request_latency_system_failure": 1.3905835377463662,
            "machine_temperature_system_failure": 2.5563301921824606,
            "nyc_taxi": 3.775210013719179,
            "rogue_agent_key_hold": -1.280892312855327,
            "rogue_agent_key_updown": -2.567650916046798,
        },
    },
    "contextOSE": {
        "standard": {
            "ambient_temperature_system_failure": -0.318599859273,
            "cpu_utilization_asg_misconfiguration": -0.141289753023,
            "ec2_request_latency_system_failure": 1.99064449099,
            "machine_temperature_system_failure": -0.164969541073,
            "nyc_taxi": -1.31976791841,
            "rogue_agent_key_hold": -0.959262194153,
            "rogue_agent_key_updown": -2.22,
        },
    },
}
#: The same score files' totals over all 58 NAB series (116 windows), which ``final_results.json`` normalises.
PUBLISHED_TOTALS: dict[str, dict[str, float]] = {
    "numenta": {"standard": 46.6344501971, "low_fp": 30.4310725171, "low_fn": 26.6344501971},
    "windowedGaussian": {"standard": -24.0131054891, "low_fp": -67.5862728866, "low_fn": -67.0131054891},
    "ARTime": {"standard": 57.66075157860637},
    "contextOSE": {"standard": 46.1670000068},
}
NAB_WINDOWS = 116  # labelled windows in all of NAB v1.x (labels/combined_windows.json)
#: Labelled windows per realKnownCause file, for normalising published raw scores without the data at hand.
SUBSET_WINDOWS = {
    "ambient_temperature_system_failure": 2,
    "cpu_utilization_asg_misconfiguration": 1,
    "ec2_request_latency_system_failure": 3,
    "machine_temperature_system_failure": 4,
    "nyc_taxi": 5,
    "rogue_agent_key_hold": 2,
    "rogue_agent_key_updown": 2,
}
_PROFILE_BY_KEY = {key: PROFILES[name] for name, key in PROFILE_KEYS.items()}


def normalise_published(raw: float, n_windows: int, profile_key: str) -> float:
    """A published raw total normalised over ``n_windows`` windows (none of NAB's lies inside a probation)."""
    profile = _PROFILE_BY_KEY[profile_key]
    return normalise(raw, -profile.fn * n_windows, profile.tp * n_windows)


def published_subset_scores() -> dict[str, float]:
    """``published_<profile>_<detector>``: NAB's published detectors normalised over the seven series alone.

    Their thresholds were optimised over all 58 series, not re-optimised for this subset.
    """
    n_windows = sum(SUBSET_WINDOWS.values())
    return {
        f"published_{profile}_{detector}": normalise_published(sum(files.values()), n_windows, profile)
        for detector, by_profile in PUBLISHED_RAW.items()
        for profile, files in by_profile.items()
    }
