"""``futago bench qc``: the full QARTOD set on 1,000,000 readings, futago against ioos_qc.

Both run gross range, spike, rate of change and flat line with the same configuration on the
same series (1 Hz with gaps, noise, spikes, steps, stuck stretches and NaNs), in this process,
one after the other. ``speedup`` is ioos_qc's time over futago's; ``flag_agreement`` is the
fraction of readings whose aggregate and per-test flags are all equal (it must be 1.0).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console

from futago.quality import QcConfig, run_batch

KEYS = ("points", "futago_s", "ioos_qc_s", "speedup", "flag_agreement")
POINTS = 1_000_000
US = 1_000_000
CONFIG: dict[str, Any] = {
    "gross_range": {"fail_span": [-10, 40], "suspect_span": [0, 35]},
    "spike": {"suspect_threshold": 2.0, "fail_threshold": 5.0, "method": "average"},
    "rate_of_change": {"threshold": 1.0, "fail_threshold": 3.0},
    # ioos_qc materialises every window (readings × (count + 1) floats), so keep it to ~40 readings.
    "flat_line": {"suspect_threshold": 20, "fail_threshold": 40, "tolerance": 0.001},
}


def synthetic_series(n: int = POINTS, seed: int = 7) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A day-cycle temperature at 1 Hz with the faults the tests are meant to catch."""
    rng = np.random.default_rng(seed)
    steps = np.where(rng.random(n) < 0.001, rng.integers(2, 120, n), 1).astype(np.int64) * US
    ts = 1_700_000_000 * US + np.cumsum(steps)
    values = 20 + 8 * np.sin(np.arange(n) * 2 * np.pi / 86_400) + rng.normal(0, 0.2, n)
    spikes = rng.random(n) < 0.002
    values[spikes] += rng.choice([-1, 1], spikes.sum()) * rng.uniform(3, 30, spikes.sum())
    for start in rng.integers(0, n - 200, 300):  # stuck sensor stretches
        values[start : start + rng.integers(10, 200)] = values[start]
    values[rng.random(n) < 0.001] = np.nan
    return ts, values


def _ioos_qc(ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64], config: dict[str, Any]) -> dict[str, Any]:
    from ioos_qc import qartod

    tinp = ts.astype("datetime64[us]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = {
            "gross_range": qartod.gross_range_test(inp=values, **config["gross_range"]),
            "spike": qartod.spike_test(inp=values, **config["spike"]),
            "rate_of_change": qartod.rate_of_change_test(inp=values, tinp=tinp, **config["rate_of_change"]),
            "flat_line": qartod.flat_line_test(inp=values, tinp=tinp, **config["flat_line"]),
        }
        tests = {k: np.asarray(v, dtype=np.uint8) for k, v in tests.items()}
        tests["aggregate"] = np.asarray(qartod.qartod_compare(list(tests.values())), dtype=np.uint8)
    return tests


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Time both implementations once each on the same data; ``db`` is unused (no store involved)."""
    console = Console(stderr=True, quiet=not progress)
    ts, values = synthetic_series()
    config = QcConfig.from_dict(CONFIG)
    run_batch(config, ts[:1000], values[:1000])  # warm-up: imports and first-call costs
    with console.status("futago: QARTOD batch over 1,000,000 readings"):
        start = time.perf_counter()
        ours = run_batch(config, ts, values)
        futago_s = time.perf_counter() - start
    with console.status("ioos_qc: the same tests on the same readings"):
        start = time.perf_counter()
        theirs = _ioos_qc(ts, values, config.to_dict())
        ioos_qc_s = time.perf_counter() - start
    same = ours.aggregate == theirs["aggregate"]
    for name, flags in ours.tests.items():
        same &= flags == theirs[name]
    figures = {
        "points": len(ts),
        "futago_s": round(futago_s, 4),
        "ioos_qc_s": round(ioos_qc_s, 4),
        "speedup": round(ioos_qc_s / futago_s, 2),
        "flag_agreement": float(same.mean()),
    }
    assert tuple(figures) == KEYS
    return figures


if __name__ == "__main__":
    print(run())
